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
// Prodigy, the trust ratio of LARS and LAMB) runs as a fused gather pass and a fused step (see fused.go).
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

// A SharedReducer is a Reducer whose reduction runs over the parameters of
// several groups, not its own group's alone: Prodigy's estimate d is one
// for the whole model, as in the authors' implementation, whatever groups
// --no-decay or Muon's routing cut the model into.
//
// When the optimizer is made, each SharedReducer of a later group is
// offered, through Share, the first reducer (the lead) of every link so far,
// in order; it joins the first that it accepts, or leads a new link. Each
// group joins a link at most once, and in the order of the links, so that
// no two groups wait on each other. The groups of a link then run in step:
// each runs its passes up to the link's reducer (its gather), and once
// every group of the link has gathered, the link reduces:
//
//	tot ← 0;  for each member, in group order: Contribute(its sums, tot)
//	for each member, in group order:           ReduceShared(tot, its u, its θ)
//
// and the groups go on with their next passes. Every member sees the same
// tot, added in a fixed order, so the result does not depend on the number
// of threads. A link whose groups can all run fused reduces between the
// fused gather pass and the fused step; otherwise all its groups run
// staged (the two are bit for bit the same). A reducer that leads a link
// of one is an ordinary Reducer.
type SharedReducer[T Float] interface {
	Reducer[T]
	// Share reports whether the reducer, of a later group, reduces together
	// with lead, the first reducer of a link (of an earlier group). If it
	// returns true it has joined: it keeps whatever state it shares with
	// lead in step with lead's. Share(nil) leaves whatever link the reducer
	// joined before and returns false: New offers it to every
	// SharedReducer first, so that one that a failed New linked is free.
	Share(lead SharedReducer[T]) bool
	// Contribute adds to tot (length Sums()) what its group's sums, as
	// Reduce would receive them, contribute to the link's reduction.
	Contribute(sums [][]float64, tot []float64)
	// ReduceShared is Reduce given the link's total; u and p are its own
	// group's, as for Reduce (nil when the group runs fused).
	ReduceShared(tot []float64, u, p [][]T)
}

// link is the reducers of one SharedReducer link, one per group.
type link[T Float] struct {
	members []member[T]
	tot     []float64
	fused   bool // every member's group runs fused
}

type member[T Float] struct {
	r      SharedReducer[T]
	g      int
	sums   *[][]float64 // the group's per-parameter sums, allocated later
	u, p   *[][]T       // staged: the group's whole updates and values
	staged *staged[T]
}

// reduce adds the members' contributions in group order and hands every
// member the total.
func (l *link[T]) reduce() {
	clear(l.tot)
	for _, m := range l.members {
		m.r.Contribute(*m.sums, l.tot)
	}
	for _, m := range l.members {
		var u, p [][]T
		if m.u != nil {
			u, p = *m.u, *m.p
		}
		m.r.ReduceShared(l.tot, u, p)
	}
}

// link finds the SharedReducers of every group's body and links them
// (see SharedReducer). It runs before the staged runners are made: a link
// with a group that cannot run fused makes all its groups run staged.
func (o *Optimizer[T]) link() {
	var links []*link[T]
	for gi, g := range o.groups {
		last := -1 // the group joins links in their order
		for _, tr := range g.body {
			r, ok := tr.(SharedReducer[T])
			if !ok {
				continue
			}
			r.Share(nil) // a New that failed after its link may have linked r
			joined := false
			for li := last + 1; li < len(links); li++ {
				if l := links[li]; l.members[len(l.members)-1].g != gi && r.Share(l.members[0].r) {
					l.members = append(l.members, member[T]{r: r, g: gi})
					last, joined = li, true
					break
				}
			}
			if !joined {
				links = append(links, &link[T]{members: []member[T]{{r: r, g: gi}}})
				last = len(links) - 1
			}
		}
	}
	for _, l := range links {
		if len(l.members) < 2 {
			continue
		}
		l.fused = true
		for _, m := range l.members {
			l.fused = l.fused && o.groups[m.g].fused != nil
		}
		for i := range l.members {
			g := o.groups[l.members[i].g]
			if l.fused {
				g.fused.shared = true
				l.members[i].sums = &g.fused.sums
			} else {
				g.fused = nil
			}
		}
		l.tot = make([]float64, l.members[0].r.Sums())
		o.links = append(o.links, l)
	}
}

// linkOf returns the link r belongs to, and its member, if r shares.
func (o *Optimizer[T]) linkOf(r Transform[T]) (*link[T], *member[T]) {
	for _, l := range o.links {
		for i := range l.members {
			if Transform[T](l.members[i].r) == r {
				return l, &l.members[i]
			}
		}
	}
	return nil, nil
}

// A replayer is a transform that can form its block of the update once
// more in a later pass of the same step, exactly as its Update formed it,
// without moving its state again: a transform with no state (decay,
// clipping, negation) by running Update again. (Adam could, from the
// moments its Update left, but a square root and a division per element
// cost LAMB more than the two streams they save: BenchmarkStep/LAMB/10M
// ran about a quarter slower on one core.)
//
// When every transform before a chain's only reducer replays, and the
// reducer reads only its sums (a sumsReducer), the staged runner keeps no
// whole update in memory: its last pass forms each block again from the
// gradient, in a buffer that stays in the cache. The result is that of
// the chain, bit for bit; the step saves writing and reading back the
// update (LARS and Prodigy beside clipping by value, when they cannot run
// fused).
type replayer[T Float] interface {
	replays() bool // whether it can, as configured
	replay(k, off int, u, p []T)
}

// A sumsReducer is a Reducer whose Reduce reads only the sums, never the
// whole updates or values: a staged runner may pass it nil for both.
type sumsReducer interface{ sumsOnly() }

var (
	_ replayer[float32] = (*AddDecayedWeights[float32])(nil)
	_ replayer[float32] = (*maskedDecay[float32])(nil)
	_ replayer[float32] = (*Negate[float32])(nil)
	_ replayer[float32] = (*ClipByGlobalNorm[float32])(nil)
	_ replayer[float32] = (*ClipByValue[float32])(nil)
	_ replayer[float32] = (*ScaleByLR[float32])(nil)
	_ sumsReducer       = (*ScaleByTrustRatio[float32])(nil)
	_ sumsReducer       = (*ScaleByProdigy[float32])(nil)
)

// The transforms with no state replay by updating again.

func (d *AddDecayedWeights[T]) replays() bool               { return true }
func (d *AddDecayedWeights[T]) replay(k, off int, u, p []T) { d.Update(k, off, u, p) }
func (n *Negate[T]) replays() bool                          { return true }
func (n *Negate[T]) replay(k, off int, u, p []T)            { n.Update(k, off, u, p) }
func (c *ClipByGlobalNorm[T]) replays() bool                { return true }
func (c *ClipByGlobalNorm[T]) replay(k, off int, u, p []T)  { c.Update(k, off, u, p) }
func (c *ClipByValue[T]) replays() bool                     { return true }
func (c *ClipByValue[T]) replay(k, off int, u, p []T)       { c.Update(k, off, u, p) }
func (s *ScaleByLR[T]) replays() bool                       { return true }
func (s *ScaleByLR[T]) replay(k, off int, u, p []T)         { s.Update(k, off, u, p) }

// replaying turns replayed last passes on; tests turn it off to compare.
var replaying = true

// replayable reports whether the chain body, whose only reducer is at cut,
// can run its last pass from the gradient (see replayer).
func replayable[T Float](body Chain[T], cut int) bool {
	if _, ok := body[cut].(sumsReducer); !ok {
		return false
	}
	for _, tr := range body[:cut] {
		if r, ok := tr.(replayer[T]); !ok || !r.replays() {
			return false
		}
	}
	return true
}

// staged runs a group whose chain holds reducers, pass by pass.
type staged[T Float] struct {
	g      *group[T]
	cuts   []int       // positions in g.body of the reducers
	links  []*link[T]  // per cut: its link, or nil when it reduces alone
	chunks []chunk     // the group's units of parallel work
	acc    [][]float64 // per chunk: the current reducer's partial sums
	sums   [][]float64 // per parameter: the partial sums added up
	u, p   [][]T       // per parameter: the whole update (nil when replayed) and the values
	// replay: the last pass forms each block of the update again from the
	// gradient, in the optimizer's per-worker scratch, and u is not kept.
	replay  bool
	scratch *[][]T
	pass    int
	waiting bool // at a shared reducer, for the other groups of its link
	done    bool
	serial  bool
	fn      func(w, i int)
}

// newStaged returns the staged runner of group gi, or nil when its body
// holds no reducer.
func (o *Optimizer[T]) newStaged(gi int) *staged[T] {
	g, chunks := o.groups[gi], o.chunksOf(gi)
	s := &staged[T]{g: g}
	width := 0
	for i, tr := range g.body {
		if r, ok := tr.(Reducer[T]); ok {
			s.cuts = append(s.cuts, i)
			width = max(width, r.Sums())
			l, m := o.linkOf(tr)
			s.links = append(s.links, l)
			if m != nil {
				m.sums, m.u, m.p, m.staged = &s.sums, &s.u, &s.p, s
			}
		}
	}
	if len(s.cuts) == 0 {
		return nil
	}
	size := 0
	s.replay = replaying && len(s.cuts) == 1 && replayable(g.body, s.cuts[0])
	s.scratch = &o.scratch
	for _, p := range g.params {
		if !s.replay {
			s.u = append(s.u, make([]T, len(p.Value)))
		}
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

// advance runs the passes of one step from s.pass on, until the last is
// done or the reducer that ends a pass is shared: the group then waits for
// the other groups of the reducer's link. g.apply is set.
func (s *staged[T]) advance() {
	for ; ; s.pass++ {
		if s.serial {
			for i := range s.chunks {
				s.fn(0, i)
			}
		} else {
			kernel.Parallel(len(s.chunks), s.fn)
		}
		if s.pass == len(s.cuts) {
			s.done = true
			return
		}
		for _, row := range s.sums {
			clear(row)
		}
		for i, c := range s.chunks {
			for j, v := range s.acc[i] {
				s.sums[c.k][j] += v
			}
		}
		if s.links[s.pass] != nil {
			s.waiting = true
			return
		}
		s.g.body[s.cuts[s.pass]].(Reducer[T]).Reduce(s.sums, s.u, s.p)
	}
}

func (s *staged[T]) runChunk(w, i int) {
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
	p := g.params[c.k]
	for off := c.lo; off < c.hi; off += blockLen {
		n := min(blockLen, c.hi-off)
		var ub []T
		val := p.Value[off : off+n]
		if s.replay {
			ub = (*s.scratch)[w][:n]
			copy(ub, p.Grad[off:off+n])
			if s.pass > 0 {
				for _, tr := range g.body[:lo] {
					tr.(replayer[T]).replay(c.k, off, ub, val)
				}
			}
		} else {
			ub = s.u[c.k][off : off+n]
			if s.pass == 0 {
				copy(ub, p.Grad[off:off+n])
			}
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
// others. The groups of a link run in step: each runs up to the link's
// reducer, the link reduces, and each goes on. Since every group joins
// links in their order, the lowest link that a group waits on has all its
// groups waiting, and the loop ends with every group done.
func (o *Optimizer[T]) runStaged() {
	for _, g := range o.groups {
		if s := g.staged; s != nil {
			s.pass, s.waiting, s.done = 0, false, false
		}
	}
	for {
		for _, g := range o.groups {
			if s := g.staged; s != nil && !s.done && !s.waiting {
				s.advance()
			}
		}
		progress := false
		for _, l := range o.links {
			if l.fused || !l.ready() {
				continue
			}
			l.reduce()
			for _, m := range l.members {
				m.staged.waiting = false
				m.staged.pass++
			}
			progress = true
			break // the lowest ready link first; then every group advances again
		}
		if !progress {
			for _, g := range o.groups {
				if s := g.staged; s != nil && !s.done {
					panic("optim: shared reducers wait on each other") // link's order forbids it
				}
			}
			return
		}
	}
}

// ready reports whether every group of a staged link waits at it.
func (l *link[T]) ready() bool {
	for _, m := range l.members {
		s := m.staged
		if !s.waiting || s.links[s.pass] != l {
			return false
		}
	}
	return true
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
