package lockline

import (
	"os"
	"strings"
)

func readBoot() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return string(b)
}

// initPIDNamespace is the number of the machine's first PID namespace
// (PROC_PID_INIT_INO, Linux 3.8 on).
const initPIDNamespace = "4026531836"

func readPIDNamespace() string {
	l, err := os.Readlink("/proc/self/ns/pid") // "pid:[4026531836]"
	if err != nil {
		return ""
	}
	n, ok := strings.CutPrefix(l, "pid:[")
	n, ok2 := strings.CutSuffix(n, "]")
	if !ok || !ok2 || n == initPIDNamespace {
		return ""
	}
	return n
}
