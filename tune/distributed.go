package tune

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/descentml/descent/comm"
)

// A search on several ranks (Search.Comm, under mpirun) runs the same
// trials as on one: every rank generates the same list, and trial k of
// each list of trials still to run goes to rank k mod N, one at a time per
// rank. The ranks go in waves of N trials: after each, every rank sends
// its result to all (so that every rank knows every result, and successive
// halving's promotions, a pure function of them, are the same everywhere),
// and rank 0 appends them to the journal, which only it opens. A search
// stopped on any rank stops every rank after the wave; a trial interrupted
// in it is not recorded and runs again when the search is resumed, and the
// finished ones of the wave are recorded first. (A rank killed loses the
// finished trials of its wave that rank 0 has not yet recorded.)

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

// runRanks runs todo over the ranks, in waves of one trial per rank.
func (r *runner) runRanks(ctx context.Context, todo []Trial) error {
	c := r.s.Comm
	n := c.Size()
	for lo := 0; lo < len(todo); lo += n {
		var mine []byte
		if i := lo + c.Rank(); i < len(todo) && ctx.Err() == nil {
			if res, ok := r.runOne(ctx, todo[i]); ok {
				var err error
				if mine, err = json.Marshal(res); err != nil {
					return fmt.Errorf("tune: %w", err)
				}
			}
		}
		var jerr error
		for k := 0; k < n && lo+k < len(todo); k++ {
			b, err := comm.BroadcastBytes(c, mine, k)
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			if len(b) == 0 {
				continue // interrupted
			}
			var res TrialResult
			if err := json.Unmarshal(b, &res); err != nil {
				return fmt.Errorf("tune: the result of rank %d: %w", k, err)
			}
			if r.journal != nil && jerr == nil {
				jerr = r.journal.append(res)
			}
			r.done[res.key()] = res
		}
		stop, err := comm.AnyOf(c, ctx.Err() != nil || jerr != nil)
		switch {
		case err != nil:
			return fmt.Errorf("tune: %w", err)
		case jerr != nil:
			return jerr
		case ctx.Err() != nil:
			return ctx.Err()
		case stop:
			return fmt.Errorf("%w: the search was stopped there", comm.ErrOtherRank)
		}
	}
	return nil
}
