//go:build amd64 && !noasm

package kernel

import "golang.org/x/sys/cpu"

//go:generate sh -c "cd asmgen && go run . -set update -out ../update_amd64.s -stubs ../update_decl_amd64.go -table ../update_table_amd64.go -pkg kernel"
//go:generate sh -c "cd asmgen && go run . -set layer -out ../layer_amd64.s -stubs ../layer_decl_amd64.go -table ../layer_table_amd64.go -pkg kernel"
//go:generate sh -c "cd asmgen && go run . -set gemm -out ../gemm_amd64.s -stubs ../gemm_decl_amd64.go -table ../gemm_table_amd64.go -pkg kernel"

func detect() level {
	x := cpu.X86
	switch {
	case x.HasAVX512F && x.HasAVX512DQ && x.HasAVX512BW && x.HasAVX512VL && x.HasFMA:
		return avx512
	case x.HasAVX2 && x.HasFMA:
		return avx2
	}
	return generic
}

// accelerate puts the assembly kernels of level l into the tables.
func accelerate(l level) {
	accelerateUpdate(l)
	accelerateLayer(l)
	accelerateGemm(l)
}
