package landscape

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/gif"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/schedule"
)

// Every analytic gradient agrees with central finite differences at many
// points of its domain.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fn := range functions {
		d := fn.Domain
		pts := [][2]float64{fn.Start}
		pts = append(pts, fn.Minima...)
		for range 500 {
			pts = append(pts, [2]float64{d.XMin + rng.Float64()*(d.XMax-d.XMin), d.YMin + rng.Float64()*(d.YMax-d.YMin)})
		}
		for _, p := range pts {
			gx, gy := fn.Grad(p[0], p[1])
			for i, g := range []float64{gx, gy} {
				h := 1e-6 * max(1, math.Abs(p[i]))
				a, b := p, p
				a[i] += h
				b[i] -= h
				fd := (fn.F(a[0], a[1]) - fn.F(b[0], b[1])) / (2 * h)
				scale := max(1, math.Abs(fn.F(p[0], p[1])), math.Abs(g))
				if math.Abs(fd-g) > 1e-6*scale {
					t.Errorf("%s: ∂f/∂θ%d%v = %v; finite difference %v", fn.Name, i, p, g, fd)
				}
			}
		}
	}
}

func TestMinima(t *testing.T) {
	for _, fn := range functions {
		for _, m := range fn.Minima {
			if v := fn.F(m[0], m[1]); math.Abs(v-fn.MinValue) > 1e-12 {
				t.Errorf("%s: f%v = %v; want %v", fn.Name, m, v, fn.MinValue)
			}
			if gx, gy := fn.Grad(m[0], m[1]); math.Hypot(gx, gy) > 1e-9 {
				t.Errorf("%s: ∇f%v = (%v, %v); want 0", fn.Name, m, gx, gy)
			}
		}
		if len(fn.Minima) == 0 && fn.F(0, 0) <= fn.Escape {
			t.Errorf("%s: f(0, 0) = %v is already below the escape level %v", fn.Name, fn.F(0, 0), fn.Escape)
		}
		if n := math.Hypot(fn.Steep[0], fn.Steep[1]); math.Abs(n-1) > 1e-9 {
			t.Errorf("%s: |Steep| = %v; want 1", fn.Name, n)
		}
		d := fn.Domain
		if s := fn.Start; s[0] < d.XMin || s[0] > d.XMax || s[1] < d.YMin || s[1] > d.YMax {
			t.Errorf("%s: start %v lies outside the domain %+v", fn.Name, s, d)
		}
		if !(fn.LR > 0 && fn.AdaptiveLR > 0 && fn.Tol > 0) {
			t.Errorf("%s: LR %v, AdaptiveLR %v, Tol %v: want all positive", fn.Name, fn.LR, fn.AdaptiveLR, fn.Tol)
		}
	}
	if r := Ravine(); r.Steep != [2]float64{0, 1} {
		t.Errorf("ravine: Steep = %v; want the y axis", r.Steep)
	}
	// Rosenbrock's valley at (1, 1) runs along (1, 2)/√5: the steep axis
	// is (nearly) across it.
	rb, _ := Lookup("rosenbrock")
	if dot := (rb.Steep[0] + 2*rb.Steep[1]) / math.Sqrt(5); math.Abs(dot) > 0.01 {
		t.Errorf("rosenbrock: Steep = %v is not across the valley (cosine %v)", rb.Steep, dot)
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"ravine", "Rosenbrock", "BEALE", "himmelblau", "saddle", "rastrigin"} {
		fn, err := Lookup(name)
		if err != nil || !strings.EqualFold(fn.Name, name) {
			t.Errorf("Lookup(%q) = %q, %v", name, fn.Name, err)
		}
	}
	_, err := Lookup("booth")
	want := `landscape: unknown function "booth": valid names are ravine, rosenbrock, beale, himmelblau, saddle, rastrigin`
	if err == nil || err.Error() != want {
		t.Errorf("Lookup(booth) = %v; want %s", err, want)
	}
}

func sgd(lr, momentum float64) optim.Config {
	return optim.Config{Method: optim.SGD{Momentum: momentum}, LR: schedule.Constant(lr)}
}

func TestRun(t *testing.T) {
	fn := Ravine()
	p, err := Run(fn, sgd(0.01, 0), fn.Start, 50)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(p.Points) != 51 || len(p.Values) != 51 || p.Steps() != 50 || p.Points[0] != fn.Start {
		t.Fatalf("Run gave %d points, %d values, start %v; want 51, 51, %v", len(p.Points), len(p.Values), p.Points[0], fn.Start)
	}
	// Plain gradient descent on a quadratic: each coordinate shrinks by
	// 1 − αh a step.
	want := [2]float64{fn.Start[0] * math.Pow(1-0.01, 50), fn.Start[1] * math.Pow(1-0.01*RavineKappa, 50)}
	if got := p.Points[50]; math.Abs(got[0]-want[0]) > 1e-12 || math.Abs(got[1]-want[1]) > 1e-12 {
		t.Errorf("Run(ravine, sgd 0.01) ends at %v; want %v", got, want)
	}
	for k, q := range p.Points {
		if p.Values[k] != fn.F(q[0], q[1]) {
			t.Errorf("Values[%d] = %v; want f%v = %v", k, p.Values[k], q, fn.F(q[0], q[1]))
		}
	}

	// lr = 0.03 > 2/κ: y grows by |1 − 0.03·99| ≈ 1.97 a step.
	p, err = Run(fn, sgd(0.03, 0), fn.Start, 200)
	var de *DivergedError
	if !errors.Is(err, ErrDiverged) || !errors.As(err, &de) {
		t.Fatalf("Run(ravine, sgd 0.03) = %v; want a divergence", err)
	}
	if de.Step != p.Steps() || de.Step < 5 || de.Step >= 200 || !strings.Contains(err.Error(), "left the box") {
		t.Errorf("divergence at step %d with a path of %d steps (%v); want the path to end at the step that left the box", de.Step, p.Steps(), err)
	}
	// A gradient that overflows is caught before it reaches the iterate.
	rb, _ := Lookup("rosenbrock")
	p, err = Run(rb, sgd(1, 0), rb.Start, 100)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("Run(rosenbrock, sgd 1) = %v; want a divergence", err)
	}
	for _, q := range p.Points {
		if !finite(q[0]) || !finite(q[1]) {
			t.Errorf("diverged path holds the non-finite point %v", q)
		}
	}

	if _, err := Run(fn, optim.Config{Method: optim.SGD{}}, fn.Start, 10); err == nil || !strings.Contains(err.Error(), "set Config.LR") {
		t.Errorf("Run without a learning rate = %v; want optim's error", err)
	}
	if _, err := Run(fn, sgd(0.01, 0), fn.Start, -1); err == nil {
		t.Errorf("Run with −1 steps succeeded")
	}
	if _, err := Run(fn, sgd(0.01, 0), [2]float64{math.NaN(), 0}, 1); err == nil {
		t.Errorf("Run from NaN succeeded")
	}
	if p, err := Run(fn, sgd(0.01, 0), fn.Start, 0); err != nil || len(p.Points) != 1 {
		t.Errorf("Run with 0 steps = %d points, %v; want the start alone", len(p.Points), err)
	}
}

// On the ravine ½(x² + 99y²), gradient descent at lr = 0.02 crosses the
// steep axis at every step; heavy-ball momentum at the same rate averages
// the alternating steep gradients away and crosses half as often, travels
// a quarter as far across, and reaches the minimum, which gradient descent
// does not in 200 steps. The effect holds from starts all over the domain.
func TestRavineMomentumDampsOscillation(t *testing.T) {
	fn := Ravine()
	for _, start := range [][2]float64{fn.Start, {-5, 0.5}, {8, -1.2}, {-9.5, 0.2}, {3, 1.4}} {
		gd, err := Run(fn, sgd(0.02, 0), start, 200)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := Run(fn, sgd(0.02, 0.9), start, 200)
		if err != nil {
			t.Fatal(err)
		}
		g, m := Measure(fn, gd, 0), Measure(fn, hb, 0)
		t.Logf("start %v: sgd travel %.3g flips %d reached %d; momentum travel %.3g flips %d reached %d",
			start, g.SteepTravel, g.SteepFlips, g.Reached, m.SteepTravel, m.SteepFlips, m.Reached)
		if g.SteepFlips < 195 {
			t.Errorf("start %v: sgd changed direction across the ravine %d times in 200 steps; want nearly every step", start, g.SteepFlips)
		}
		if m.SteepFlips > g.SteepFlips*6/10 {
			t.Errorf("start %v: momentum changed direction %d times; want at most 60%% of sgd's %d", start, m.SteepFlips, g.SteepFlips)
		}
		if m.SteepTravel > g.SteepTravel/3 {
			t.Errorf("start %v: momentum travelled %v across the ravine; want at most a third of sgd's %v", start, m.SteepTravel, g.SteepTravel)
		}
		if m.Reached < 0 || g.Reached >= 0 || m.FinalDist > g.FinalDist/100 {
			t.Errorf("start %v: momentum reached %d (distance %v), sgd %d (distance %v); want only momentum to reach it", start, m.Reached, m.FinalDist, g.Reached, g.FinalDist)
		}
	}
}

// Adam and RMSprop scale each coordinate's step by its own gradient
// history, so the shallow axis moves as fast as the steep one: the first
// step is as long along x as along y, where gradient descent's is κ·y/x
// times shorter, and x ends much nearer the minimum.
func TestRavineAdaptiveShallowProgress(t *testing.T) {
	fn := Ravine()
	gd, _ := Run(fn, sgd(0.02, 0), fn.Start, 200)
	for _, o := range []string{"adam lr=0.1", "rmsprop lr=0.1"} {
		opt, err := ParseOptimizer(o)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Run(fn, opt.Config, fn.Start, 200)
		if err != nil {
			t.Fatal(err)
		}
		dx, dy := p.Points[1][0]-p.Points[0][0], p.Points[1][1]-p.Points[0][1]
		if r := math.Abs(dx / dy); math.Abs(r-1) > 1e-6 {
			t.Errorf("%s: first step moves x %v and y %v; want the same distance", o, dx, dy)
		}
		gdx, gdy := gd.Points[1][0]-gd.Points[0][0], gd.Points[1][1]-gd.Points[0][1]
		if r := math.Abs(gdx / gdy); r > 0.1 {
			t.Errorf("sgd: first step moves x %v and y %v; want x far shorter", gdx, gdy)
		}
		x, xgd := math.Abs(p.Points[200][0]), math.Abs(gd.Points[200][0])
		if x > xgd/2 {
			t.Errorf("%s: |x| after 200 steps = %v; want under half of sgd's %v", o, x, xgd)
		}
	}
}

func TestMeasure(t *testing.T) {
	fn := Ravine()
	// Steps across the steep axis: +1, −2, +0.5, 0, +0.25: 3.75 in all and
	// two changes of direction, the zero step being passed over.
	p := Path{Points: [][2]float64{{3, 0}, {2, 1}, {1, -1}, {0.5, -0.5}, {0.005, -0.5}, {0.001, -0.25}}}
	for _, q := range p.Points {
		p.Values = append(p.Values, fn.F(q[0], q[1]))
	}
	m := Measure(fn, p, 0.6)
	want := Metrics{Steps: 5, Reached: 4, Minimum: 0, FinalDist: math.Hypot(0.001, 0.25), FinalF: fn.F(0.001, -0.25),
		Escaped: -1, SteepTravel: 3.75, SteepFlips: 2}
	if m != want {
		t.Errorf("Measure = %+v; want %+v", m, want)
	}
	if m := Measure(fn, p, 0); m.Reached != -1 {
		t.Errorf("Measure with the default tolerance: Reached = %d; want −1", m.Reached)
	}

	h, _ := Lookup("himmelblau")
	if m := Measure(h, Path{Points: [][2]float64{{-3.7, -3.2}}, Values: []float64{0}}, 0); m.Minimum != 2 {
		t.Errorf("Himmelblau near (−3.78, −3.28): Minimum = %d; want 2", m.Minimum)
	}

	s, _ := Lookup("saddle")
	p = Path{Points: [][2]float64{{1, 0}, {0.5, 0.5}, {0, 1.5}}, Values: []float64{1, 0, -2.25}}
	if m := Measure(s, p, 0); m.Escaped != 2 || m.Reached != -1 || m.Minimum != -1 || !math.IsNaN(m.FinalDist) {
		t.Errorf("saddle: Measure = %+v; want escape at step 2 and no minimum", m)
	}
	if m := Measure(fn, Path{}, 0); m.Steps != 0 || m.Reached != -1 || !math.IsNaN(m.FinalF) {
		t.Errorf("empty path: Measure = %+v", m)
	}
}

func TestMetricsJSON(t *testing.T) {
	m := Metrics{Steps: 3, Reached: -1, Minimum: -1, FinalDist: math.NaN(), FinalF: -2, Escaped: 1, SteepTravel: 1.5, SteepFlips: 1}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"steps":3,"reached":-1,"minimum":-1,"escaped":1,"steep_travel":1.5,"steep_flips":1,"final_dist":null,"final_f":-2}`
	if string(b) != want {
		t.Errorf("json.Marshal(metrics) = %s; want %s", b, want)
	}
	var back Metrics
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(back.FinalDist) || back.FinalF != -2 || back.SteepFlips != 1 {
		t.Errorf("json.Unmarshal = %+v, %v; want the metrics back", back, err)
	}
	var old Metrics // a file without the distances reads them as NaN, as null
	if err := json.Unmarshal([]byte(`{"steps":3}`), &old); err != nil || !math.IsNaN(old.FinalDist) || !math.IsNaN(old.FinalF) {
		t.Errorf(`json.Unmarshal({"steps":3}) = %+v, %v; want NaN distances`, old, err)
	}
}

func TestParseOptimizer(t *testing.T) {
	for spec, want := range map[string]optim.Method{
		"sgd lr=0.1":                     optim.SGD{},
		"momentum lr=0.02 beta=0.8":      optim.SGD{Momentum: 0.8},
		"momentum lr=0.02 ema=1":         optim.SGD{Momentum: 0.9, EMA: true},
		"Nesterov lr=0.01":               optim.SGD{Momentum: 0.9, Nesterov: true},
		"rmsprop alpha=0.9 beta=0.5":     optim.RMSprop{Alpha: 0.9, Eps: 1e-8, Momentum: 0.5},
		"adam lr=0.1 beta1=0.8 eps=1e-6": optim.Adam{Beta1: 0.8, Beta2: 0.999, Eps: 1e-6},
		"adamw wd=0.1":                   optim.AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1},
		"adadelta rho=0.5":               optim.Adadelta{Rho: 0.5, Eps: 1e-6},
		"adagrad wd=0.5":                 optim.Adagrad{Eps: 1e-10, WeightDecay: 0.5},
		"adamax beta2=0.9":               optim.Adamax{Beta1: 0.9, Beta2: 0.9, Eps: 1e-8},
		"nadam lr=0.01":                  optim.DefaultNAdam(),
		"radam  lr=0.01   beta2=0.99":    optim.RAdam{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8},
	} {
		o, err := ParseOptimizer(spec)
		if err != nil {
			t.Errorf("ParseOptimizer(%q) = %v", spec, err)
			continue
		}
		if o.Config.Method != want {
			t.Errorf("ParseOptimizer(%q).Method = %+v; want %+v", spec, o.Config.Method, want)
		}
		if o.Name != o.Spec || strings.Contains(o.Spec, "  ") {
			t.Errorf("ParseOptimizer(%q): Name %q, Spec %q; want the spec normalised in both", spec, o.Name, o.Spec)
		}
	}
	if o, _ := ParseOptimizer("momentum lr=0.02"); o.Config.LR != schedule.Constant(0.02) {
		t.Errorf("lr=0.02 gave LR %v", o.Config.LR)
	}
	// sgd takes PyTorch's default rate, as everywhere in descent.
	if o, err := ParseOptimizer("sgd"); err != nil || o.Config.LR != schedule.Constant(0.01) {
		t.Errorf("ParseOptimizer(sgd) = %v, %v; want lr 0.01", o.Config.LR, err)
	}
	for spec, want := range map[string]string{
		"":                       "empty",
		"shampoo lr=1":           `unknown optimizer "shampoo" (valid: adadelta, adagrad, adam, adamax, adamw, ademamix, adopt, lamb, lars, lion, momentum, muon, nadam, nesterov, prodigy, radam, rmsprop, sf-adamw, sf-sgd, sgd, soap)`,
		"sgd lr=x":               "lr=x: want a number",
		"sgd lr":                 `"lr" is not key=value`,
		"adam beta=0.9":          `adam has no hyperparameter "beta" (valid: lr, beta1, beta2, eps, amsgrad, wd, l2)`,
		"momentum lr=1 beta=1.5": "SGD.Momentum = 1.5: must be in [0, 1)",
	} {
		_, err := ParseOptimizer(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOptimizer(%q) = %v; want an error containing %q", spec, err, want)
		}
	}
	d := Optimizer{Name: "x", Config: sgd(0.5, 0.9)}.Describe()
	if !strings.Contains(d, "optim.SGD") || !strings.Contains(d, "Momentum:0.9") || !strings.Contains(d, "lr=0.5") {
		t.Errorf("Describe() = %q; want the method and rate spelled out", d)
	}
}

func TestExperiment(t *testing.T) {
	for _, name := range Names() {
		fn, _ := Lookup(name)
		e := DefaultExperiment(fn)
		res, err := e.Run()
		if err != nil {
			t.Fatalf("%s: Run = %v", name, err)
		}
		if len(res.Runs) != len(DefaultOptimizers(fn)) || res.Steps != DefaultSteps || res.Function != name {
			t.Errorf("%s: %d runs of %d steps of %q; want %d of %d", name, len(res.Runs), res.Steps, res.Function, len(DefaultOptimizers(fn)), DefaultSteps)
		}
		for _, r := range res.Runs {
			// Only the saddle, unbounded below, may throw an iterate out.
			if r.Error != "" && name != "saddle" {
				t.Errorf("%s: %s: %s", name, r.Optimizer, r.Error)
			}
		}
		var table bytes.Buffer
		if err := res.WriteTable(&table); err != nil || strings.Count(table.String(), "\n") != len(res.Runs)+1 {
			t.Errorf("%s: table of %d lines (%v):\n%s", name, strings.Count(table.String(), "\n"), err, table.String())
		}
	}
	if _, err := (Experiment{}).Run(); err == nil {
		t.Errorf("an empty experiment ran")
	}
	e := DefaultExperiment(Ravine())
	e.Steps = 0
	if _, err := e.Run(); err == nil || !strings.Contains(err.Error(), "Steps = 0") {
		t.Errorf("Run with 0 steps = %v", err)
	}
	e.Steps = MaxSteps + 1
	if _, err := e.Run(); err == nil || !strings.Contains(err.Error(), "must be from 1 to 1000000") {
		t.Errorf("Run with MaxSteps+1 steps = %v", err)
	}
	e.Steps = 999
	if mem, out := e.Size(); mem != 6*1000*400 || out != 6*1000*100 {
		t.Errorf("Size() of 6 optimizers × 999 steps = %g, %g; want %d, %d", mem, out, 6*1000*400, 6*1000*100)
	}
	e = DefaultExperiment(Ravine())
	e.Optimizers = append(e.Optimizers, Optimizer{Name: "broken", Config: optim.Config{Method: optim.SGD{}}})
	res, err := e.Run()
	last := len(e.Optimizers) - 1
	if err != nil || res.Runs[last].Error == "" || len(res.Runs[last].Path.Points) != 0 {
		t.Errorf("a refused optimizer: %v, run %+v; want it recorded with its error", err, res.Runs[last])
	}
}

// The figures and the JSON of a result, also after a round trip through
// JSON, which keeps only the function's name.
func TestResultOutputs(t *testing.T) {
	e := DefaultExperiment(Ravine())
	e.Steps = 60
	res, err := e.Run()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("json.Marshal(result) = %v", err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("json.Unmarshal = %v", err)
	}
	if len(back.Runs) != len(res.Runs) || len(back.Runs[0].Path.Points) != 61 || back.Runs[2].Metrics != res.Runs[2].Metrics {
		t.Errorf("JSON round trip lost data")
	}
	for name, r := range map[string]Result{"result": res, "decoded": back} {
		var img bytes.Buffer
		if err := r.Contour(&img, 320, 240); err != nil {
			t.Fatalf("%s: Contour = %v", name, err)
		}
		if pic, err := png.Decode(&img); err != nil || pic.Bounds().Dx() != 320 {
			t.Errorf("%s: Contour drew no 320-pixel PNG: %v", name, err)
		}
		img.Reset()
		if err := r.GIF(&img, 320, 240, plot.Animation{Frames: 8}); err != nil {
			t.Fatalf("%s: GIF = %v", name, err)
		}
		if g, err := gif.DecodeAll(&img); err != nil || len(g.Image) > 8 || g.Config.Height != 240 {
			t.Errorf("%s: GIF is not an 8-frame 320×240 animation: %v", name, err)
		}
	}
	back.Function = "nowhere"
	if err := back.Contour(&bytes.Buffer{}, 0, 0); err == nil {
		t.Errorf("Contour of an unknown function succeeded")
	}
}
