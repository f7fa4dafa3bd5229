//go:build !spreadprobe

package kernel

// ProbeOn reports whether this build has the probe of Spread calls (the
// tag spreadprobe; see ProbeReport).
const ProbeOn = false

func probeStart()                       {}
func probePartStart(p int)              {}
func probePart(p int)                   {}
func probeEnd()                         {}
func probeLabel(name string, phase int) {}
func probeMark()                        {}
func probeReport() []ProbeCall          { return nil }
