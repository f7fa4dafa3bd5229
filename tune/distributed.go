package tune

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/descentml/descent/comm"
)

// A search on several ranks (Search.Comm, under mpirun) runs the same
// trials as on one: every rank generates the same list, and each trial
// still to run goes to the next free rank, one at a time per rank, so that
// a fast rank does not wait for a slow one's trial. The ranks exchange
// their news every tick: every rank sends its finished result to all (so
// that every rank knows every result, and successive halving's promotions,
// a pure function of them, are the same everywhere; a rung is still a
// barrier), and rank 0 appends each to the journal, which only it opens,
// as it arrives. A search stopped on any rank stops handing out trials;
// the trials under way on the other ranks finish and are recorded, and
// one interrupted is not recorded and runs again when the search is
// resumed. (A rank killed loses only its trial under way.) Which rank runs
// which trial depends on timing; the report does not.

// openShared opens the journal on rank 0 and sends every rank the trials
// it records.
func (r *runner) openShared() error {
	c := r.s.Comm
	var done []TrialResult
	var err error
	if c.Rank() == 0 {
		var j *journal
		if j, done, err = openJournal(r.s.Journal, r.s.header()); err == nil {
			r.journal = j
		}
	}
	var b []byte
	if err == nil && c.Rank() == 0 {
		b, err = json.Marshal(done)
	}
	if err := comm.Together(c, err, "rank 0 could not open the journal"); err != nil {
		return err
	}
	if b, err = comm.BroadcastBytes(c, b, 0); err == nil && c.Rank() != 0 {
		err = json.Unmarshal(b, &done)
	}
	if err := comm.Together(c, err, "the journal could not be sent to every rank"); err != nil {
		return err
	}
	for _, t := range done {
		r.done[t.key()] = t
	}
	return nil
}

// tick is how long the ranks run their trials between two exchanges of
// news: the most a finished trial waits before its rank gets the next.
var tick = 50 * time.Millisecond

// The flags a rank sends at an exchange, before its result.
const (
	sentFinished byte = 1 << iota // its trial ended (interrupted, without a result)
	sentResult                    // … with a result, which follows
	sentStop                      // its context was cancelled, or rank 0's journal failed
)

// runRanks runs todo over the ranks: the next trial goes to the next free
// rank. Every tick the ranks exchange what finished (each rank broadcasts
// its news in turn) and every rank then assigns the trials still to run to
// the free ranks, in rank order: a pure function of what they all know,
// so no rank decides for the others. Each rank runs its trial in a
// goroutine while its main one takes part in the exchanges.
func (r *runner) runRanks(ctx context.Context, todo []Trial) error {
	c := r.s.Comm
	busy := make([]int, c.Size()) // the trial each rank runs; -1: free
	for k := range busy {
		busy[k] = -1
	}
	ended := make(chan []byte, 1) // this rank's trial's result; empty if interrupted
	next, stopping := 0, false
	var jerr error
	for {
		for k := range busy {
			if busy[k] >= 0 || next == len(todo) || stopping {
				continue
			}
			busy[k], next = next, next+1
			if k == c.Rank() {
				go func(t Trial) {
					var b []byte
					if res, ok := r.runOne(ctx, t); ok {
						b, _ = json.Marshal(res) // a TrialResult always marshals
					}
					ended <- b
				}(todo[busy[k]])
			}
		}
		if !slices.ContainsFunc(busy, func(i int) bool { return i >= 0 }) {
			break
		}
		time.Sleep(tick)
		msg := []byte{0}
		select {
		case b := <-ended:
			msg[0] |= sentFinished
			if len(b) > 0 {
				msg[0] |= sentResult
				msg = append(msg, b...)
			}
		default:
		}
		if ctx.Err() != nil || jerr != nil {
			msg[0] |= sentStop
		}
		for k := range busy {
			b, err := comm.BroadcastBytes(c, msg, k)
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			if len(b) == 0 {
				return fmt.Errorf("tune: rank %d sent nothing", k)
			}
			stopping = stopping || b[0]&sentStop != 0
			if b[0]&sentFinished == 0 {
				continue
			}
			busy[k] = -1
			if b[0]&sentResult == 0 {
				continue // interrupted: it runs again on resume
			}
			var res TrialResult
			if err := json.Unmarshal(b[1:], &res); err != nil {
				return fmt.Errorf("tune: the result of rank %d: %w", k, err)
			}
			if r.journal != nil && jerr == nil {
				jerr = r.journal.append(res)
			}
			r.done[res.key()] = res
		}
	}
	switch {
	case jerr != nil:
		return jerr
	case ctx.Err() != nil:
		return ctx.Err()
	case stopping:
		return fmt.Errorf("%w: the search was stopped there", comm.ErrOtherRank)
	}
	return nil
}
