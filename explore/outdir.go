package explore

import (
	"os"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/tensor"
)

// TuneJournal is the file in a search's directory that records its
// finished trials (TuneConfig.Journal), so that the search can go on
// after an interruption.
const TuneJournal = "tune-journal.jsonl"

// OpenTuneDir opens the directory of a search for every process of c
// (nil: one): dir, or a new one under runs/ if "" (run.OutputDir). Rank 0
// makes and locks it (run.LockDir) and every rank gets its path; a
// directory that holds a search's journal (TuneJournal) continues it; one
// that holds another command's results (run.CheckOutput) is refused. The
// lock, nil on the other ranks, is held until the search ends.
func OpenTuneDir(dir string, c *comm.Comm) (string, *run.Lock, error) {
	var lock *run.Lock
	var err error
	if !c.Distributed() || c.Rank() == 0 {
		dir, lock, err = tuneDir(dir)
	}
	if err := comm.Together(c, err, "rank 0 could not open the output directory"); err != nil {
		return "", nil, err
	}
	b, err := comm.BroadcastBytes(c, []byte(dir), 0)
	if err != nil {
		lock.Unlock()
		return "", nil, err
	}
	return string(b), lock, nil
}

func tuneDir(dir string) (string, *run.Lock, error) {
	if dir == "" {
		var err error
		if dir, err = run.OutputDir("tune", "", TuneFile); err != nil {
			return "", nil, err
		}
	}
	if err := run.CheckOutput("tune", dir); err != nil { // another command's results
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	lock, err := run.LockDir(dir, "descent tune")
	if err == nil {
		if err = run.CheckOutput("tune", dir); err != nil { // written while we were not holding it
			lock.Unlock()
			lock = nil
		}
	}
	return dir, lock, err
}

// UseCores sets the kernel threads (tensor.SetThreads) for jobs
// trainings run at most workers at a time (0: one per core): threads if
// above 0, else the cores shared between the trainings at once
// (Parallelism). It returns the number of trainings to run at once.
func UseCores(threads, workers, jobs int) int {
	w, t := Parallelism(workers, jobs)
	if threads > 0 {
		t = threads
	}
	tensor.SetThreads(t)
	return w
}
