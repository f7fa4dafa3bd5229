//go:build !linux && !darwin

package lockline

// readBoot returns no boot: see Boot for why not the BSDs' boot time.
func readBoot() string { return "" }

func readPIDNamespace() string { return "" }
