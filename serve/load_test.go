package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestConcurrentClients has 50 clients poll as the page does, the list then
// a run, over loopback while the run appends a line to metrics.jsonl every
// 10 ms. Every answer must be whole and the points a client sees must never
// go back; all of it must end within the bound (ten times longer under
// the race detector, which slows it down as much on a loaded machine).
func TestConcurrentClients(t *testing.T) {
	const (
		clients = 50
		rounds  = 20 // polls per client
		bound   = 30 * time.Second * raceSlowdown
	)
	if testing.Short() {
		t.Skip("seconds of load; not with -short")
	}
	dir := fixture(t)
	run := filepath.Join(dir, "live")
	writeRun(t, run, "adam", 1e-3, 1, false)
	_, ts := newServer(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()

	written := make(chan int)
	stop := make(chan struct{})
	go func() {
		n := 1
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				written <- n
				return
			case <-tick.C:
				n++
				appendLine(t, filepath.Join(run, "metrics.jsonl"), metricsLine(n, 1e-3))
			}
		}
	}()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	get := func(url string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return json.Unmarshal(b, v)
	}

	start := time.Now()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      []error
		wg        sync.WaitGroup
	)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := 0
			for r := 0; r < rounds; r++ {
				t0 := time.Now()
				var list entriesReply
				err := get(ts.URL+"/api/entries", &list)
				t1 := time.Now()
				var rep testEntry
				if err == nil {
					err = get(ts.URL+"/api/entry?id=0/live", &rep)
				}
				t2 := time.Now()
				if err == nil && (rep.Metrics == nil || len(rep.Metrics.Points) < seen) {
					err = fmt.Errorf("a client saw %d points after %d", len(rep.Metrics.Points), seen)
				}
				if err == nil && len(list.Entries) < 8 {
					err = fmt.Errorf("a client saw %d entries; want 8", len(list.Entries))
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					latencies = append(latencies, t1.Sub(t0), t2.Sub(t1))
					seen = len(rep.Metrics.Points)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	n := <-written
	for i, err := range errs {
		if i == 5 {
			t.Errorf("and %d more errors", len(errs)-5)
			break
		}
		t.Error(err)
	}
	if elapsed > bound {
		t.Errorf("%d clients × %d polls took %s; want under %s", clients, rounds, elapsed, bound)
	}
	var rep testEntry
	if err := get(ts.URL+"/api/entry?id=0/live", &rep); err != nil {
		t.Errorf("after the writer stopped: %v", err)
	} else if len(rep.Metrics.Points) != n {
		t.Errorf("after the writer stopped: %d points; want %d", len(rep.Metrics.Points), n)
	}
	if len(latencies) > 0 {
		slices.Sort(latencies)
		q := func(p float64) time.Duration {
			return latencies[int(p*float64(len(latencies)-1))].Round(time.Microsecond)
		}
		t.Logf("%d clients × %d polls (%d requests) in %s while %d lines were written: %.0f requests/s; latency median %s, p99 %s, max %s",
			clients, rounds, len(latencies), elapsed.Round(time.Millisecond), n, float64(len(latencies))/elapsed.Seconds(), q(0.5), q(0.99), q(1))
	}
}
