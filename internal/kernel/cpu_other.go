//go:build !amd64 || noasm

package kernel

func detect() level { return generic }

func accelerate(level) {}
