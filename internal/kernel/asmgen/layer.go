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
		// y = x + c
		name: "addConst", params: "c T, x, y []T", slices: []string{"x", "y"}, scalars: []string{"c"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.ld("x"), e.c("c")))
		},
	},
	{
		// y = x·a + b
		name: "mulAdd", params: "x, a, b, y []T", slices: []string{"x", "a", "b", "y"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.mul(e.ld("x"), e.ld("a")), e.ld("b")))
		},
	},
	{
		// y = x·a + b, a and b scalars
		name: "affine", params: "a, b T, x, y []T", slices: []string{"x", "y"}, scalars: []string{"a", "b"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.mul(e.ld("x"), e.c("a")), e.c("b")))
		},
	},
	{
		// dx = ((dy − a) − (x − mean)·k)·c, the scalars a channel's
		name: "normGradRun", params: "x, dy, dx []T, mean, a, k, c T", slices: []string{"x", "dy", "dx"},
		scalars: []string{"mean", "a", "k", "c"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			x, dy := e.ld("x"), e.ld("dy")
			e.st("dx", e.mul(e.sub(e.sub(dy, e.c("a")), e.mul(e.sub(x, e.c("mean")), e.c("k"))), e.c("c")))
		},
	},
	{
		// s += (x − mean)·dy
		name: "addDiffProduct", params: "x, mean, dy, s []T", slices: []string{"x", "mean", "dy", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			x, mean, dy, s := e.ld("x"), e.ld("mean"), e.ld("dy"), e.ld("s")
			e.st("s", e.add(s, e.mul(e.sub(x, mean), dy)))
		},
	},
	{
		// dx = ((dy − a) − (x − mean)·k)·c
		name: "normGrad", params: "x, dy, mean, a, k, c, dx []T", slices: []string{"x", "dy", "mean", "a", "k", "c", "dx"}, unroll: 2,
		body: func(e *step, _ map[string]bool) {
			x, dy, mean, a, k, c := e.ld("x"), e.ld("dy"), e.ld("mean"), e.ld("a"), e.ld("k"), e.ld("c")
			e.st("dx", e.mul(e.sub(e.sub(dy, a), e.mul(e.sub(x, mean), k)), c))
		},
	},
	{
		// z = x + y
		name: "add", params: "x, y, z []T", slices: []string{"x", "y", "z"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("z", e.add(e.ld("x"), e.ld("y")))
		},
	},
	{
		// z = x·y
		name: "mul", params: "x, y, z []T", slices: []string{"x", "y", "z"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("z", e.mul(e.ld("x"), e.ld("y")))
		},
	},
	{
		// y = ((x − m)·s)·w + b, a layer norm's row
		name: "layerNorm", params: "x, w, b, y []T, m, s T", slices: []string{"x", "w", "b", "y"}, scalars: []string{"m", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.mul(e.mul(e.sub(e.ld("x"), e.c("m")), e.c("s")), e.ld("w")), e.ld("b")))
		},
	},
	{
		// acc += ((x − m)·s)·dy, a layer norm's weight gradient
		name: "addNormProduct", params: "x, dy, acc []T, m, s T", slices: []string{"x", "dy", "acc"}, scalars: []string{"m", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("acc", e.add(e.ld("acc"), e.mul(e.mul(e.sub(e.ld("x"), e.c("m")), e.c("s")), e.ld("dy"))))
		},
	},
	{
		// dp = p·(dp − c), a softmax's input gradient with c = Σ p·dp
		name: "softmaxGrad", params: "p, dp []T, c T", slices: []string{"p", "dp"}, scalars: []string{"c"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("dp", e.mul(e.ld("p"), e.sub(e.ld("dp"), e.c("c"))))
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
