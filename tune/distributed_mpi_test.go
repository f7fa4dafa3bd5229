//go:build mpi && cgo

package tune

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/commtest"
)

// The tests in this file run on every rank of
//
//	go test -tags mpi -c -o tune.test ./tune
//	mpirun --oversubscribe -np 3 ./tune.test -test.run Distributed
//
// and on one process under plain go test -tags mpi.

var world *comm.Comm

func TestMain(m *testing.M) { commtest.Main(m, &world) }

// TestDistributedSearch runs each method on every rank and checks that
// every rank returns the single-process report, that the journal (rank
// 0's) records each trial once, and that a search stopped on the last rank
// after its second trial resumes to the same report without repeating a
// trial.
func TestDistributedSearch(t *testing.T) {
	for _, m := range []Method{Random{Trials: 10}, Halving{Configs: 9, MinBudget: 1, MaxBudget: 9}} {
		t.Run(m.String(), func(t *testing.T) {
			single := Search{Space: bowlSpace(t), Method: m, Seed: 3, Workers: 1, Budget: 5}
			want, err := single.Run(context.Background(), bowl)
			if err != nil {
				t.Fatal(err)
			}
			s := single
			s.Comm, s.Journal = world, filepath.Join(t.TempDir(), "journal") // rank 0's is written
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runs := 0
			stopping := func(ctx context.Context, tr Trial) (Outcome, error) {
				if runs++; runs == 2 && world.Rank() == world.Size()-1 {
					cancel()
					return Outcome{}, ctx.Err()
				}
				return bowl(ctx, tr)
			}
			_, err = s.Run(ctx, stopping)
			if world.Distributed() && !errors.Is(err, context.Canceled) && !errors.Is(err, comm.ErrOtherRank) {
				t.Fatalf("%v: a search stopped on the last rank: %v; want it stopped", world, err)
			}
			got, err := s.Run(context.Background(), bowl)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := reportJSON(t, got), reportJSON(t, want); g != w {
				t.Errorf("%v: report\n%s\nwant the single process's\n%s", world, g, w)
			}
			if world.Rank() == 0 {
				b, err := os.ReadFile(s.Journal)
				if err != nil {
					t.Fatal(err)
				}
				if lines := bytes.Count(b, []byte("\n")); lines != 1+len(want.Trials) {
					t.Errorf("the journal has %d lines; want the header and %d trials, each once", lines, len(want.Trials))
				}
			}
		})
	}
}
