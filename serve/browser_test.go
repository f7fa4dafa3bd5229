//go:build !plan9 && !js && !wasip1

package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive a real headless Chromium (Debian's chromium) with
// chromedp. Without Chromium they skip, unless DESCENT_BROWSER_TESTS is set,
// as CI sets it after installing Chromium: then they fail.

func findChromium() string {
	if p := os.Getenv("DESCENT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// page is a tab in a headless Chromium, with what its console reported.
type page struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

func newPage(t *testing.T) *page {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser tests take seconds; not with -short")
	}
	exe := findChromium()
	if exe == "" {
		if os.Getenv("DESCENT_BROWSER_TESTS") != "" {
			t.Fatal("DESCENT_BROWSER_TESTS is set but no Chromium was found (set DESCENT_CHROMIUM to its path)")
		}
		t.Skip("no Chromium found; install Debian's chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	p := &page{t: t, ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				msg = fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if msg != "" {
			p.mu.Lock()
			p.errors = append(p.errors, msg)
			p.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
		return err
	}))
	if err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return p
}

func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// within runs actions with a deadline d.
func (p *page) within(what string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s within %s: %v", what, d, err)
	}
}

// eval returns the value of the JavaScript expression js.
func eval[T any](p *page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js, func(e *runtime.EvaluateParams) { e.AwaitPromise = new(true) }))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// get returns the value of the action a.
func get[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}
func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// script runs the JavaScript js.
func script(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](js)(ctx, t)
		return err
	})
}

// poll waits until the JavaScript expression js is true.
func poll(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js)(ctx, t)
		return err
	})
}

// noErrors fails the test if the console reported an error or warning.
func (p *page) noErrors(when string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errors {
		p.t.Errorf("%s: %s", when, e)
	}
	p.errors = nil
}

// screenshot saves the page as name.png among the test's artifacts
// (go test -artifacts keeps them) and, if DESCENT_SCREENSHOTS names a
// directory, there too.
func (p *page) screenshot(name string) {
	p.t.Helper()
	b := get(p, "screenshot", chromedp.FullScreenshot(100))
	dirs := []string{p.t.ArtifactDir()}
	if d := os.Getenv("DESCENT_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), b, 0o644); err != nil {
			p.t.Error(err)
		}
	}
}

// chartAttr waits for the chart key to show points and series.
func chartSel(key string, points, series int) string {
	return fmt.Sprintf(`.chart[data-chart=%q][data-points="%d"][data-series="%d"]`, key, points, series)
}

func open(id string) chromedp.Action[chromedp.Void] {
	return click(fmt.Sprintf(`nav li[data-id=%q] button.name`, id))
}

func TestBrowser(t *testing.T) {
	p := newPage(t)
	dir := fixture(t)
	writeRun(t, filepath.Join(dir, "broken"), "adam", 1e-3, 2, true)
	writeFile(t, filepath.Join(dir, "broken", "summary.json"), []byte("{half"))
	// An lr-find.json written before min_loss_lr was named so.
	lrJSON, err := os.ReadFile(filepath.Join(dir, "lr-find", "lr-find.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "lr-find-old", "lr-find.json"), []byte(strings.Replace(string(lrJSON), `"min_loss_lr"`, `"min_loss"`, 1)))
	// One that found no rate, and says why.
	var none map[string]any
	if err := json.Unmarshal(lrJSON, &none); err != nil {
		t.Fatal(err)
	}
	none["suggested"], none["min_loss_lr"], none["no_suggestion"] = nil, nil, "the range is too high"
	noneJSON, err := json.Marshal(none)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "lr-find-none", "lr-find.json"), noneJSON)
	_, ts := newServer(t, dir)
	var list entriesReply
	getJSON(t, ts.URL+"/api/entries", &list)
	nEntries := len(list.Entries)

	// The page loads, lists every directory of the fixture with its
	// status, and reports no error.
	p.run("load the page", chromedp.Navigate(ts.URL), visible(`nav li[data-id="0/adam"]`))
	n := eval[int](p, `document.querySelectorAll("nav li[data-id]").length`)
	if n != nEntries {
		t.Errorf("the page lists %d directories; want %d", n, nEntries)
	}
	statuses := eval[map[string]string](p, `Object.fromEntries([...document.querySelectorAll("nav li[data-id]")].map(li => [li.dataset.id, li.dataset.status]))`)
	for id, want := range map[string]string{"0/adam": "finished", "0/broken": "malformed", "0/compare": "finished", "0/tune": "finished"} {
		if statuses[id] != want {
			t.Errorf("the list shows %s as %q; want %q", id, statuses[id], want)
		}
	}
	p.noErrors("loading the page")

	// A run's curves: loss (train and validation), accuracy, learning
	// rate and the gradient norm it records, one point per epoch.
	p.run("open a run", open("0/adam"), visible(chartSel("loss", 5, 2)))
	for key, series := range map[string]int{"accuracy": 2, "lr": 1, "grad_norm": 1} {
		p.within("chart "+key, 5*time.Second, visible(chartSel(key, 5, series)))
	}
	canvases := eval[int](p, `document.querySelectorAll(".chart canvas").length`)
	if canvases != 4 {
		t.Errorf("%d canvases drawn; want 4 charts", canvases)
	}
	p.screenshot("run")

	// Log scale: loss starts on a log axis, a click makes it linear.
	distr := eval[int](p, `state.charts.get("loss").u.scales.y.distr`)
	if distr != 3 {
		t.Errorf("the loss axis has distr %d; want 3, logarithmic", distr)
	}
	p.run("untick log y", click(`.chart[data-chart="loss"] input.logy`))
	p.within("linear loss axis", 3*time.Second, poll(`state.charts.get("loss").u.scales.y.distr === 1`))

	// Smoothing changes the curves but not their number of points.
	before := eval[[]float64](p, `state.charts.get("loss").u.data[1]`)
	p.run("smooth", chromedp.SetValue(chromedp.CSS(`#smoothing`), "0.9"),
		script(`document.querySelector("#smoothing").dispatchEvent(new Event("input"))`))
	p.within("smoothed curve", 3*time.Second, poll(fmt.Sprintf(`state.charts.get("loss").u.data[1][4] !== %v`, before[4])))
	after := eval[[]float64](p, `state.charts.get("loss").u.data[1]`)
	if len(after) != len(before) || after[0] != before[0] {
		t.Errorf("smoothed loss = %v; want the first point kept, %v, and 5 points", after, before)
	}
	p.run("unsmooth", chromedp.SetValue(chromedp.CSS(`#smoothing`), "0"),
		script(`document.querySelector("#smoothing").dispatchEvent(new Event("input"))`))

	// Overlay: ticking a second run puts its curves beside the first's.
	p.run("tick sgd", click(`nav li[data-id="0/sgd"] input[type=checkbox]`))
	p.within("two runs on the loss chart", 3*time.Second, visible(chartSel("loss", 5, 4)))
	labels := eval[[]string](p, `state.charts.get("loss").u.series.slice(1).map(s => s.label)`)
	if !strings.Contains(strings.Join(labels, "|"), "adam train_loss") || !strings.Contains(strings.Join(labels, "|"), "sgd train_loss") {
		t.Errorf("overlaid loss series %q; want both runs' train_loss", labels)
	}
	p.screenshot("overlay")
	p.run("untick sgd", click(`nav li[data-id="0/sgd"] input[type=checkbox]`))
	p.noErrors("the run view")

	// Live: a run that appears while the page is open is listed, and a
	// point appended to its metrics.jsonl shows within two seconds.
	live := filepath.Join(dir, "live")
	writeRun(t, live, "adam", 3e-4, 2, false)
	start := time.Now()
	p.within("the new run listed", 2*time.Second, visible(`nav li[data-id="0/live"][data-status="running"]`))
	t.Logf("a new run was listed %s after it was written", time.Since(start).Round(time.Millisecond))
	p.run("open the new run", open("0/live"), visible(chartSel("loss", 2, 2)))
	for e := 3; e <= 4; e++ {
		appendLine(t, filepath.Join(live, "metrics.jsonl"), metricsLine(e, 3e-4))
		start := time.Now()
		p.within(fmt.Sprintf("point %d drawn", e), 2*time.Second, visible(chartSel("loss", e, 2)))
		t.Logf("point %d was drawn %s after it was written", e, time.Since(start).Round(time.Millisecond))
	}
	p.screenshot("live")
	p.noErrors("the live run")

	// Compare: mean ± std bands, one per optimizer, and the final table.
	p.run("open compare", open("0/compare"), visible(chartSel("val_loss", 3, 9)))
	bands := eval[int](p, `state.charts.get("val_loss").u.bands.length`)
	rows := eval[int](p, `document.querySelectorAll("table.finals tr").length`)
	if bands != 3 || rows != 4 {
		t.Errorf("compare: %d bands, %d table rows; want 3 bands and a header with 3 rows", bands, rows)
	}
	p.screenshot("compare")

	// The AdamW-vs-L2 grid: a 2×2 heatmap for each optimizer.
	p.run("open the grid", open("0/adamw-vs-l2"), visible(`table.heatmap[data-optimizer="adamw"]`))
	cells := eval[int](p, `document.querySelectorAll("table.heatmap td").length`)
	if cells != 8 {
		t.Errorf("heatmaps hold %d cells; want 2 optimizers × 2 rates × 2 decays", cells)
	}
	p.screenshot("adamw-vs-l2")

	// Landscape: the GIF and the figure load, f along each path is drawn.
	p.run("open the landscape", open("0/landscape"), visible(`img[alt="landscape.gif"]`),
		poll(`[...document.images].every(i => i.complete && i.naturalWidth > 0)`))
	lpaths := eval[int](p, `state.charts.get("f").u.series.length - 1`)
	if steps := eval[string](p, `document.querySelector("#path-step").max`); steps != "40" {
		t.Errorf("landscape: the path slider goes to step %s; want 40", steps)
	}
	if lpaths != 6 {
		t.Errorf("landscape: %d paths; want 6", lpaths)
	}
	p.screenshot("landscape")

	// lr-find: the loss against the rate, one point per rate tried, the
	// suggested rate and the rate of the lowest loss, also from a file
	// that calls it by its old name.
	var lr struct {
		LRs       []float64
		MinLossLR float64 `json:"min_loss_lr"`
	}
	readFixture(t, "lr-find/lr-find.json", &lr)
	wantSuggest := "lowest loss at rate " + eval[string](p, fmt.Sprintf("fmt(%v)", lr.MinLossLR))
	for _, id := range []string{"0/lr-find", "0/lr-find-old"} {
		p.run("open "+id, open(id), visible(chartSel("lr-find", len(lr.LRs), 2)),
			poll(fmt.Sprintf(`state.viewKey.endsWith(":%s") && document.querySelector("#suggest") !== null`, id)))
		if got := get(p, "read the suggestion", chromedp.Text(chromedp.CSS(`#suggest`))); !strings.Contains(got, wantSuggest) {
			t.Errorf("%s suggests %q; want %q in it", id, got, wantSuggest)
		}
	}
	p.run("open 0/lr-find-none", open("0/lr-find-none"), visible(chartSel("lr-find", len(lr.LRs), 2)),
		poll(`state.viewKey.endsWith(":0/lr-find-none") && document.querySelector("#suggest") !== null`))
	if got := get(p, "read the missing suggestion", chromedp.Text(chromedp.CSS(`#suggest`))); !strings.Contains(got, "no rate suggested: the range is too high") || strings.Contains(got, "lowest loss") {
		t.Errorf("an lr-find that found no rate shows %q; want its reason and no rates", got)
	}
	p.run("open lr-find", open("0/lr-find"), visible(chartSel("lr-find", len(lr.LRs), 2)))
	p.screenshot("lr-find")

	// Tune: a sortable table of the trials, objective against a
	// hyperparameter, and the best trial's command, copied with a click.
	var tune struct {
		Report       struct{ Trials []struct{ ID int } }
		TrainCommand string `json:"train_command"`
	}
	readFixture(t, "tune/tune.json", &tune)
	p.run("open tune", open("0/tune"), visible(`table.trials`),
		visible(chartSel("tune", len(tune.Report.Trials), 1)))
	rows = eval[int](p, `document.querySelectorAll("table.trials tr[data-trial]").length`)
	if rows != len(tune.Report.Trials) {
		t.Errorf("tune: %d rows; want %d trials", rows, len(tune.Report.Trials))
	}
	p.run("sort by lr", click(`table.trials th[data-col="lr"]`),
		visible(`table.trials th[data-col="lr"][aria-sort="ascending"]`))
	lrs := eval[[]float64](p, `[...document.querySelectorAll("table.trials tr[data-trial]")].map(tr => state.data.get("0/tune").reply.result.report.trials.find(t => t.id == tr.dataset.trial).config.lr)`)
	for i := 1; i < len(lrs); i++ {
		if lrs[i] < lrs[i-1] {
			t.Errorf("after a click on lr, the rows' rates are %v; want ascending", lrs)
			break
		}
	}
	p.run("sort by lr, descending", click(`table.trials th[data-col="lr"]`),
		visible(`table.trials th[data-col="lr"][aria-sort="descending"]`))
	command := get(p, "read the best command", chromedp.Text(chromedp.CSS(`#best-command`)))
	if command != tune.TrainCommand {
		t.Errorf("best command %q; want tune.json's %q", command, tune.TrainCommand)
	}
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(p.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted, Origin: ts.URL})
		if err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
	p.run("copy", click(`#copy`), poll(`document.querySelector("#copy").textContent === "copied"`))
	copied := eval[string](p, `navigator.clipboard.readText()`)
	if copied != tune.TrainCommand {
		t.Errorf("the clipboard holds %q; want %q", copied, tune.TrainCommand)
	}
	p.screenshot("tune")

	// A malformed run shows what is wrong, and breaks nothing.
	p.run("open the broken run", open("0/broken"), visible(`.runhead .problem`))
	problem := get(p, "read the problem", chromedp.Text(chromedp.CSS(`.runhead .problem`)))
	if !strings.Contains(problem, "summary.json") {
		t.Errorf("the broken run's problem reads %q; want it to name summary.json", problem)
	}
	p.noErrors("the views")

	// A missing page is a 404 page.
	p.run("a missing page", chromedp.Navigate(ts.URL+"/no/such/page"))
	h1 := get(p, "read the heading", chromedp.Text(chromedp.CSS(`h1`)))
	if h1 != "404" {
		t.Errorf("a missing page shows %q; want 404", h1)
	}
}

func readFixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/fixture", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
