package optim

import (
	"github.com/descentml/descent/internal/kernel"
)

// A Reducer is a transform that must see the whole of its group's updates
// before it can rewrite any block of them: one that needs a norm per tensor
// (LAMB's and LARS's trust ratio), a sum over every parameter (Prodigy's
// estimate d), or each matrix at once (Muon's Newton–Schulz iteration,
// SOAP's rotation into the eigenbasis of its preconditioner).
//
// A chain may hold any number of reducers anywhere; they cut it into
// stages. The optimizer then keeps the group's whole update (one buffer per
// parameter, outside the saved state) and runs each stage as a pass over
// memory:
//
//	pass 0:  u ← g; the transforms before the first reducer R₁ rewrite u
//	         block by block; R₁.Gather reads each block and adds to its sums
//	         R₁.Reduce(sums, u, θ)           once, with the whole of u and θ
//	pass 1:  R₁.Update on each block, then the transforms up to R₂, R₂.Gather
//	         R₂.Reduce(…)
//	…
//	last:    Rₙ.Update, the transforms after it, and θ ← θ − u
//
// Blocks are spread over the cores as for any chain; a Gather's sums are
// kept per unit of parallel work and added in a fixed order, so a step's
// result does not depend on the number of threads. A chain without
// reducers runs exactly as before, in one pass (fused where it can be); a
// chain whose reducer has a fused form (Cautious over Adam or Lion,
// Prodigy) runs as a fused gather pass and a fused step (see fused.go).
type Reducer[T Float] interface {
	Transform[T]
	// Sums returns how many float64 sums per parameter Gather accumulates.
	Sums() int
	// Gather reads block [off, off+len(u)) of parameter k's update u, as
	// the transforms before the reducer left it, and its values p. It may
	// update the reducer's state for those elements and adds its
	// contributions to acc (length Sums(), private to the caller). It is
	// called concurrently for disjoint blocks.
	Gather(k, off int, u, p []T, acc []float64)
	// Reduce is called once per step, after every Gather: sums[k] holds the
	// sums of parameter k, u[k] its whole update and p[k] its values. It may
	// rewrite any u[k], and computes what Update applies to each block.
	// It is not called concurrently; it may use the kernels' parallelism.
	Reduce(sums [][]float64, u, p [][]T)
}

// staged runs a group whose chain holds reducers, pass by pass.
type staged[T Float] struct {
	g      *group[T]
	cuts   []int       // positions in g.body of the reducers
	chunks []chunk     // the group's units of parallel work
	acc    [][]float64 // per chunk: the current reducer's partial sums
	sums   [][]float64 // per parameter: the partial sums added up
	u, p   [][]T       // per parameter: the whole update and the values
	pass   int
	serial bool
	fn     func(w, i int)
}

// newStaged returns the staged runner of g, or nil when g's body holds no
// reducer.
func newStaged[T Float](g *group[T], chunks []chunk) *staged[T] {
	s := &staged[T]{g: g}
	width := 0
	for i, tr := range g.body {
		if r, ok := tr.(Reducer[T]); ok {
			s.cuts = append(s.cuts, i)
			width = max(width, r.Sums())
		}
	}
	if len(s.cuts) == 0 {
		return nil
	}
	size := 0
	for _, p := range g.params {
		s.u = append(s.u, make([]T, len(p.Value)))
		s.p = append(s.p, p.Value)
		s.sums = append(s.sums, make([]float64, width))
		size += len(p.Value)
	}
	s.chunks = chunks
	s.acc = make([][]float64, len(chunks))
	for i := range s.acc {
		s.acc[i] = make([]float64, width)
	}
	s.serial = size < serialAt
	s.fn = s.runChunk
	return s
}

// step runs every pass of one step; g.apply is set.
func (s *staged[T]) step() {
	for s.pass = 0; s.pass <= len(s.cuts); s.pass++ {
		if s.serial {
			for i := range s.chunks {
				s.fn(0, i)
			}
		} else {
			kernel.Parallel(len(s.chunks), s.fn)
		}
		if s.pass == len(s.cuts) {
			break
		}
		for _, row := range s.sums {
			clear(row)
		}
		for i, c := range s.chunks {
			for j, v := range s.acc[i] {
				s.sums[c.k][j] += v
			}
		}
		s.g.body[s.cuts[s.pass]].(Reducer[T]).Reduce(s.sums, s.u, s.p)
	}
}

func (s *staged[T]) runChunk(_, i int) {
	c := s.chunks[i]
	g := s.g
	lo, hi := 0, len(g.body)
	var next Reducer[T]
	if s.pass > 0 {
		lo = s.cuts[s.pass-1]
	}
	if s.pass < len(s.cuts) {
		hi = s.cuts[s.pass]
		next = g.body[hi].(Reducer[T])
		clear(s.acc[i])
	}
	p, u := g.params[c.k], s.u[c.k]
	for off := c.lo; off < c.hi; off += blockLen {
		n := min(blockLen, c.hi-off)
		ub, val := u[off:off+n], p.Value[off:off+n]
		if s.pass == 0 {
			copy(ub, p.Grad[off:off+n])
		}
		for _, tr := range g.body[lo:hi] {
			tr.Update(c.k, off, ub, val)
		}
		if next != nil {
			next.Gather(c.k, off, ub, val, s.acc[i])
		} else {
			kernel.Axpy(g.apply, ub, val) // θ ← θ − u: the one place the sign flips
		}
	}
}

// runStaged runs the groups whose chains hold reducers; Step has run the
// others.
func (o *Optimizer[T]) runStaged() {
	for _, g := range o.groups {
		if g.staged != nil {
			g.staged.step()
		}
	}
}

// chunksOf returns the chunks of group gi.
func (o *Optimizer[T]) chunksOf(gi int) []chunk {
	var cs []chunk
	for _, c := range o.chunks {
		if c.g == gi {
			cs = append(cs, c)
		}
	}
	return cs
}

// Buffer registers a state buffer of the given shape, rather than the
// parameter's, for parameter k of the transform's group: a preconditioner
// matrix, say. It is allocated, saved and restored like Vec's buffers.
func (s *State[T]) Buffer(dst *[]T, k int, name string, shape []int, init T) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := s.params[k]
	s.vecs = append(s.vecs, vecReq[T]{name: p.Name + "/" + s.prefix + name, size: n, shape: append([]int(nil), shape...), dst: dst, init: init, avoid: s.avoid[k]})
}

// vecShape returns the shape a state buffer is saved with.
func (o *Optimizer[T]) vecShape(v vecReq[T]) []int {
	if v.shape != nil {
		return v.shape
	}
	return o.shapeOf(v.name)
}

// Transforms returns group's chain of transforms, clipping included, for
// reading what they expose: Prodigy's estimate d ([ProdigyD]), the trust
// ratios of LAMB and LARS ([ScaleByTrustRatio.Ratios]).
func (o *Optimizer[T]) Transforms(group int) Chain[T] { return o.groups[group].chain }
