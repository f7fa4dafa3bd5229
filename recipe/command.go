package recipe

import (
	"regexp"
	"strings"
)

// Command returns the "descent train" command line that trains r: its
// Args, quoted for a POSIX shell where they need it.
func (r Recipe) Command() string {
	args := append([]string{"descent", "train"}, r.Args()...)
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:,=+@%-]+$`)

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
