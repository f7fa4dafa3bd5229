package main

// The layers' elementwise kernels. As the optimizers' kernels, each repeats
// its reference loop in internal/kernel/layer.go in the same order, so
// results match it bit for bit.

var layers = []stream{
	{
		// y = x where !(x <= 0), else +0: NaN passes, −0 becomes +0.
		name: "relu", params: "x, y []T", slices: []string{"x", "y"}, unroll: 4,
		prep: func(e *step) { e.def("0", e.zero()) },
		body: func(e *step, _ map[string]bool) {
			x := e.ld("x")
			e.st("y", e.sel(e.cmp(cmpLE, x, e.c("0")), e.c("0"), x))
		},
	},
	{
		// dx = dy where !(x <= 0), else +0.
		name: "reluGrad", params: "x, dy, dx []T", slices: []string{"x", "dy", "dx"}, unroll: 4,
		prep: func(e *step) { e.def("0", e.zero()) },
		body: func(e *step, _ map[string]bool) {
			x, dy := e.ld("x"), e.ld("dy")
			e.st("dx", e.sel(e.cmp(cmpLE, x, e.c("0")), e.c("0"), dy))
		},
	},
	{
		// s += (x − mean)·(x − mean)
		name: "addSquaredDiff", params: "x, mean, s []T", slices: []string{"x", "mean", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			x, mean, s := e.ld("x"), e.ld("mean"), e.ld("s")
			d := e.sub(x, mean)
			e.st("s", e.add(s, e.mul(d, d)))
		},
	},
}
