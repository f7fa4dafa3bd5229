package run

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/recipe"
)

// A data-parallel run (Options.Comm of several ranks: processes under
// mpirun, or goroutines of one process, comm.Local) lives in
// rank 0's directory: rank 0 alone creates and locks it, reads and writes
// its files; the other ranks build the same run from what rank 0 sends them
// (the recipe and data.json on --resume) and from the data: their own copy
// under mpirun, rank 0's own under comm.Local (loadOnce). Every step that
// may fail on one rank alone (loading the data, the memory check, creating
// the directory) shares its error, so that every rank fails together and
// nothing is left waiting; the ranks must agree on the resolved recipe
// before anything is written.

// leader reports whether this process reads and writes the run's files:
// rank 0, or a single process.
func leader(c *comm.Comm) bool { return !c.Distributed() || c.Rank() == 0 }

// together returns err on the ranks that have one and an error on the
// others if any has one (comm.Together); a single process's err as it is.
func together(c *comm.Comm, err error, what string) error {
	if !c.Distributed() {
		return err
	}
	return comm.Together(c, err, what)
}

// fromLeader gives every rank rank 0's *v, or its error. Rank 0 passes the
// error it met making v; the others pass nil.
func fromLeader[V any](c *comm.Comm, v *V, err error, what string) error {
	if !c.Distributed() {
		return err
	}
	var b []byte
	if err == nil && c.Rank() == 0 {
		b, err = json.Marshal(v)
	}
	if err := comm.Together(c, err, what); err != nil {
		return err
	}
	b, err = comm.BroadcastBytes(c, b, 0)
	if err == nil && c.Rank() != 0 {
		err = json.Unmarshal(b, v)
	}
	return together(c, err, what)
}

// loadOnce returns the data load gives, or an error on every rank if any
// rank's load failed (together; what names the failure on the others).
// Processes under mpirun each call load; the ranks of one process
// (comm.Local) hold one copy: rank 0 calls load, and the others receive
// its value (comm.ShareLocal). They may, as nothing writes the data once
// loaded: training, evaluation and resuming only read it (data.Gather,
// data.Windows), and each rank shuffles its own order of the examples.
// Every rank must call it.
func loadOnce[V any](c *comm.Comm, load func() (V, error), what string) (V, error) {
	var v V
	var err error
	if !c.InProcess() || c.Rank() == 0 {
		v, err = load()
	}
	if err := together(c, err, what); err != nil {
		var zero V
		return zero, err
	}
	if c.InProcess() {
		v = comm.ShareLocal(c, v, 0)
	}
	return v, nil
}

// agreeRecipe checks that every rank resolved the same recipe: ranks
// started with other flags, or whose data differs, all fail.
func agreeRecipe(c *comm.Comm, r recipe.Recipe) error {
	if !c.Distributed() {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := comm.Agree(c, b, "the recipe (the flags, or the data each rank read)"); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// ranks returns the number of ranks of a run with c.
func ranks(c *comm.Comm) int {
	if c == nil {
		return 1
	}
	return c.Size()
}

// config is config.json: the recipe, and the number of ranks that trained
// it when it was written (mpirun -np, or descent train --replicas; absent
// for one). It is not part of the recipe: a run may be resumed on another
// number.
type config struct {
	recipe.Recipe
	Ranks int `json:"ranks,omitempty"`
}

// writeConfig writes config.json into dir.
func writeConfig(dir string, r recipe.Recipe, c *comm.Comm) error {
	cf := config{Recipe: r}
	if n := ranks(c); n > 1 {
		cf.Ranks = n
	}
	return atomicfile.WriteJSON(filepath.Join(dir, ConfigFile), cf)
}

// Ranks returns the number of ranks training the run: 1, or the size of
// Options.Comm.
func (r *Run) Ranks() int { return ranks(r.comm) }

// ResumeCommand returns the command that continues the run: for a
// data-parallel run, on as many ranks (resumeCommand).
func (r *Run) ResumeCommand() string { return resumeCommand(&r.runDir, r.comm) }

// Ranks returns the number of ranks training the run: 1, or the size of
// Options.Comm.
func (r *TextRun) Ranks() int { return ranks(r.comm) }

// ResumeCommand returns the command that continues the run: for a
// data-parallel run, on as many ranks (resumeCommand).
func (r *TextRun) ResumeCommand() string { return resumeCommand(&r.runDir, r.comm) }

// resumeCommand returns the command that continues the run in d on as
// many ranks as c has: under mpirun with as many processes, or with as
// many replicas in one process (descent train --replicas) if c's ranks
// are goroutines. Either may continue the other's run.
func resumeCommand(d *runDir, c *comm.Comm) string {
	switch n := ranks(c); {
	case n == 1:
		return d.ResumeCommand()
	case c.InProcess():
		return fmt.Sprintf("descent train --replicas %d --resume %s", n, d.Dir)
	default:
		return fmt.Sprintf("mpirun -np %d %s", n, d.ResumeCommand())
	}
}
