package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is what a directory holds, told by the files descent writes into it.
type Kind string

// The kinds of directory the view shows.
const (
	KindRun       Kind = "run"         // descent train: config.json, metrics.jsonl, summary.json
	KindCompare   Kind = "compare"     // descent compare: compare.json
	KindGrid      Kind = "adamw-vs-l2" // descent compare --preset adamw-vs-l2: adamw-vs-l2.json
	KindLandscape Kind = "landscape"   // descent landscape: landscape.json, landscape.gif
	KindLRFind    Kind = "lr-find"     // descent lr-find: lr-find.json
	KindTune      Kind = "tune"        // descent tune: tune-journal.jsonl, then tune.json
	KindUnknown   Kind = "unknown"     // a directory with none of the files above
)

// Status is where the work in a directory stands.
type Status string

// The statuses. A run's is derived from its files (see runStatus): a
// summary means it finished; otherwise the lock a training process holds
// on the directory means it is running (see probeLock), and so, where no
// lock tells, does a file written within the idle time; a lock taken on
// another machine (a shared directory) tells nothing here, and a run
// whose files are not fresh is then of unknown status; otherwise a
// checkpoint means it stopped and can be resumed, and no checkpoint means
// it failed. The other kinds that are written over time, tunes and the
// directories of commands that have not written their results yet, are
// running by the same rule.
const (
	Running   Status = "running"
	Finished  Status = "finished"
	Stopped   Status = "stopped"   // no longer written to, can be resumed
	Failed    Status = "failed"    // no longer written to, nothing to resume from
	Malformed Status = "malformed" // a file that should parse does not
	Unknown   Status = "unknown"   // locked on another machine and not written to lately: running there, or not
)

// Files descent writes, by the kind of directory they mark. The first
// present decides the kind.
var markers = []struct {
	file string
	kind Kind
}{
	{"adamw-vs-l2.json", KindGrid},
	{"compare.json", KindCompare},
	{"landscape.json", KindLandscape},
	{"lr-find.json", KindLRFind},
	{"tune.json", KindTune},
	{"tune-journal.jsonl", KindTune},
	{"metrics.jsonl", KindRun},
	{"config.json", KindRun},
	{"summary.json", KindRun},
	{"checkpoint.safetensors", KindRun},
	{"checkpoint.prev.safetensors", KindRun},
}

// resultFile is the file that holds the results of each kind but runs
// and tunes, written once, atomically, when the work is done.
var resultFile = map[Kind]string{
	KindGrid:      "adamw-vs-l2.json",
	KindCompare:   "compare.json",
	KindLandscape: "landscape.json",
	KindLRFind:    "lr-find.json",
}

// maxDepth is how deep below a given directory the scan looks: runs/x/y.
const maxDepth = 3

// Entry is one directory the view lists.
type Entry struct {
	ID       string          `json:"id"`   // "ROOT/PATH": the index of its root among Config.Dirs and its path in it
	Root     int             `json:"root"` // the index of its root among Config.Dirs
	Path     string          `json:"path"` // slash-separated, relative to its root; "." for the root itself
	Name     string          `json:"name"` // the root's name joined with Path, for display
	Kind     Kind            `json:"kind"`
	Status   Status          `json:"status"`
	Problem  string          `json:"problem,omitempty"` // what is wrong or missing, for malformed, stopped and failed
	Modified time.Time       `json:"modified"`          // the newest modification time of its files
	Config   json.RawMessage `json:"config,omitempty"`  // a run's config.json, when it parses
	Summary  json.RawMessage `json:"summary,omitempty"` // a run's summary.json, when it parses
	Files    []string        `json:"files"`             // the files it holds that the page may fetch (figures, JSON)
}

// scan lists the entries under every root, sorted by root and path, and
// then drops from the cache the files it did not see (removed, or in a
// directory that is gone), so that the cache holds no more than the
// directories do.
func (s *Server) scan() []Entry {
	gen := s.cache.nextGen()
	var out []Entry
	for i, r := range s.roots {
		out = s.walk(out, i, r.fsys, ".", 0)
	}
	s.cache.sweep(gen)
	return out
}

func (s *Server) walk(out []Entry, root int, fsys fs.FS, dir string, depth int) []Entry {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		if depth == 0 {
			return append(out, s.problemEntry(root, dir, fmt.Sprintf("cannot read the directory: %v", err)))
		}
		return out
	}
	files := map[string]fs.FileInfo{}
	var subdirs []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if e.IsDir() {
			subdirs = append(subdirs, e.Name())
			continue
		}
		if !e.Type().IsRegular() {
			continue // symbolic links and devices: never read
		}
		if info, err := e.Info(); err == nil {
			files[e.Name()] = info
		}
	}
	s.cache.see(fsys, dir, files)
	if e, ok := s.classify(root, fsys, dir, depth, files, len(subdirs) > 0); ok {
		return append(out, e)
	}
	if depth+1 >= maxDepth {
		return out
	}
	for _, d := range subdirs {
		out = s.walk(out, root, fsys, path.Join(dir, d), depth+1)
	}
	return out
}

func (s *Server) problemEntry(root int, dir, problem string) Entry {
	return Entry{ID: entryID(root, dir), Root: root, Path: dir, Name: s.entryName(root, dir),
		Kind: KindUnknown, Status: Malformed, Problem: problem, Files: []string{}}
}

func entryID(root int, dir string) string { return fmt.Sprintf("%d/%s", root, dir) }

func (s *Server) entryName(root int, dir string) string {
	if dir == "." {
		return s.roots[root].name
	}
	return s.roots[root].name + "/" + dir
}

// classify makes the entry of one directory, if it is one.
func (s *Server) classify(root int, fsys fs.FS, dir string, depth int, files map[string]fs.FileInfo, hasSubdirs bool) (Entry, bool) {
	e := Entry{ID: entryID(root, dir), Root: root, Path: dir, Name: s.entryName(root, dir), Kind: KindUnknown, Files: []string{}}
	for _, m := range markers {
		if _, ok := files[m.file]; ok {
			e.Kind = m.kind
			break
		}
	}
	for name, info := range files {
		if info.ModTime().After(e.Modified) {
			e.Modified = info.ModTime()
		}
		switch path.Ext(name) {
		case ".png", ".gif", ".json", ".jsonl":
			e.Files = append(e.Files, name)
		}
	}
	sort.Strings(e.Files)
	now := s.now()
	switch e.Kind {
	case KindUnknown:
		// A directory descent made but has not written into yet, such as a
		// compare that writes compare.json only when it ends, is shown by
		// its name; any other directory is not an entry.
		if depth != 1 || hasSubdirs || len(files) > 0 {
			return e, false
		}
		e.Kind = kindByName(path.Base(dir))
		if info, err := fs.Stat(fsys, dir); err == nil {
			e.Modified = info.ModTime()
		}
		switch lock, holder := probeLock(fsys, dir); {
		case lock.live(now.Sub(e.Modified) < s.idle):
			e.Status, e.Problem = Running, "nothing written yet"
		case lock == lockElsewhere:
			e.Status, e.Problem = elsewhere(holder)
		default:
			e.Status, e.Problem = Failed, "an empty directory"
		}
	case KindRun:
		e.Status, e.Problem = s.runStatus(fsys, dir, files, &e, now)
	case KindTune:
		e.Status, e.Problem = s.tuneStatus(fsys, dir, files, e.Modified, now)
	default:
		name := resultFile[e.Kind]
		if _, err := s.readJSON(fsys, path.Join(dir, name), files[name]); err != nil {
			e.Status, e.Problem = Malformed, err.Error()
		} else {
			e.Status = Finished
		}
	}
	return e, true
}

// kindByName guesses the kind of an empty directory from the name descent
// gives its output directories ("compare-2006-01-02-150405").
func kindByName(name string) Kind {
	for _, k := range []Kind{KindGrid, KindCompare, KindLandscape, KindLRFind, KindTune} {
		if strings.HasPrefix(name, string(k)+"-") {
			return k
		}
	}
	return KindUnknown
}

// runFacts is what a run directory holds, all that its status depends on.
type runFacts struct {
	summary, checkpoint bool
	lastWrite           time.Time // the newest modification time of its files
	longestEpoch        float64   // seconds, the longest epoch in metrics.jsonl
	lock                lockState
	holder              string // the lock file's line
}

// status derives a run's status. A run without a summary is running while
// its lock is held, or, with no lock to tell, while its files were written
// within the idle time or three of its longest epochs, whichever is
// longer.
func (f runFacts) status(now time.Time, idle time.Duration) (Status, string) {
	if f.summary {
		return Finished, ""
	}
	fresh := now.Sub(f.lastWrite) < max(idle, time.Duration(3*f.longestEpoch*float64(time.Second)))
	switch {
	case f.lock.live(fresh):
		return Running, ""
	case f.lock == lockElsewhere:
		return elsewhere(f.holder)
	case f.checkpoint:
		return Stopped, "no summary and no longer written to; resume it with descent train --resume"
	default:
		return Failed, "no summary, no checkpoint, and no longer written to"
	}
}

func (s *Server) runStatus(fsys fs.FS, dir string, files map[string]fs.FileInfo, e *Entry, now time.Time) (Status, string) {
	var problems []string
	if info, ok := files["config.json"]; ok {
		if b, err := s.readJSON(fsys, path.Join(dir, "config.json"), info); err != nil {
			problems = append(problems, err.Error())
		} else {
			e.Config = b
		}
	} else {
		problems = append(problems, "no config.json")
	}
	f := runFacts{lastWrite: e.Modified}
	_, latest := files["checkpoint.safetensors"]
	_, prev := files["checkpoint.prev.safetensors"]
	f.checkpoint = latest || prev
	if info, ok := files["summary.json"]; ok {
		if b, err := s.readJSON(fsys, path.Join(dir, "summary.json"), info); err != nil {
			problems = append(problems, err.Error())
		} else {
			e.Summary, f.summary = b, true
		}
	}
	if !f.summary {
		f.lock, f.holder = probeLock(fsys, dir)
	}
	if info, ok := files["metrics.jsonl"]; ok {
		m, _ := s.readMetrics(fsys, path.Join(dir, "metrics.jsonl"), info, false)
		if m.Problem != "" {
			problems = append(problems, m.Problem)
		}
		f.longestEpoch = m.LongestEpoch
	}
	st, why := f.status(now, s.idle)
	if len(problems) > 0 {
		return Malformed, strings.Join(problems, "; ")
	}
	return st, why
}

func (s *Server) tuneStatus(fsys fs.FS, dir string, files map[string]fs.FileInfo, modified, now time.Time) (Status, string) {
	if info, ok := files["tune.json"]; ok {
		if _, err := s.readJSON(fsys, path.Join(dir, "tune.json"), info); err != nil {
			return Malformed, err.Error()
		}
		return Finished, ""
	}
	j := s.readJournal(fsys, path.Join(dir, "tune-journal.jsonl"), files["tune-journal.jsonl"])
	if j.Problem != "" {
		return Malformed, j.Problem
	}
	switch lock, holder := probeLock(fsys, dir); {
	case lock.live(now.Sub(modified) < s.idle):
		return Running, ""
	case lock == lockElsewhere:
		return elsewhere(holder)
	}
	return Stopped, "no tune.json and no longer written to; the same descent tune command with the same --out runs the trials that did not finish"
}

// Journal is a tune's tune-journal.jsonl: its header and its trials.
type Journal struct {
	Header  json.RawMessage   `json:"header,omitempty"`
	Trials  []json.RawMessage `json:"trials"`
	Problem string            `json:"problem,omitempty"`
}

func parseJournal(b []byte) Journal {
	j := Journal{Trials: []json.RawMessage{}}
	for n := 1; len(b) > 0; n++ {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSpace(b[:i])
		b = b[i+1:]
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) || line[0] != '{' {
			if j.Problem == "" {
				j.Problem = fmt.Sprintf("tune-journal.jsonl:%d: not a JSON object", n)
			}
			continue
		}
		if n == 1 {
			j.Header = json.RawMessage(line)
			continue
		}
		j.Trials = append(j.Trials, json.RawMessage(line))
	}
	return j
}

// cache keeps what was parsed from each file until the file's size or
// modification time changes, so that many pages polling at once cost one
// read per change. Each full scan is a generation: a walk records the
// generation in which it last saw each file, and the scan then drops the
// files it did not see.
type cache struct {
	mu      sync.Mutex
	m       map[string]cached
	metrics map[string]*metricsReader
	gen     uint64            // the generation of the latest scan
	seen    map[string]uint64 // the generation that last saw each file
}

// nextGen starts a scan and returns its generation.
func (c *cache) nextGen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	return c.gen
}

// see records that the files of dir in fsys exist, in the current
// generation.
func (c *cache) see(fsys fs.FS, dir string, files map[string]fs.FileInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]uint64{}
	}
	for name := range files {
		c.seen[fsKey(fsys, path.Join(dir, name))] = c.gen
	}
}

// sweep drops the files that no walk has seen since the scan of
// generation gen began. A file read but never seen (none is: every file
// read is listed first) counts as unseen.
func (c *cache) sweep(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if c.seen[k] < gen {
			delete(c.m, k)
		}
	}
	for k := range c.metrics {
		if c.seen[k] < gen {
			delete(c.metrics, k)
		}
	}
	for k, g := range c.seen {
		if g < gen {
			delete(c.seen, k)
		}
	}
}

// size returns the number of files the cache holds.
func (c *cache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m) + len(c.metrics)
}

type cached struct {
	size  int64
	mtime time.Time
	v     any
}

// load returns parse of the file name in fsys, from the cache when the
// file has not changed. The key is the file's place: root and path.
func (s *Server) load(fsys fs.FS, key, name string, info fs.FileInfo, parse func([]byte) any) (any, error) {
	if info != nil {
		s.cache.mu.Lock()
		c, ok := s.cache.m[key]
		s.cache.mu.Unlock()
		if ok && c.size == info.Size() && c.mtime.Equal(info.ModTime()) {
			return c.v, nil
		}
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	v := parse(b)
	if info != nil {
		s.cache.mu.Lock()
		if s.cache.m == nil {
			s.cache.m = map[string]cached{}
		}
		s.cache.m[key] = cached{info.Size(), info.ModTime(), v}
		s.cache.mu.Unlock()
	}
	return v, nil
}

func fsKey(fsys fs.FS, name string) string { return fmt.Sprintf("%p:%s", fsys, name) }

// readJSON returns a JSON file's bytes, or an error naming the file if it
// cannot be read or is not JSON.
func (s *Server) readJSON(fsys fs.FS, name string, info fs.FileInfo) (json.RawMessage, error) {
	type result struct {
		b   json.RawMessage
		err error
	}
	v, err := s.load(fsys, fsKey(fsys, name), name, info, func(b []byte) any {
		if !json.Valid(b) {
			var x any
			err := json.Unmarshal(b, &x)
			if err == nil {
				err = errors.New("not JSON")
			}
			return result{err: fmt.Errorf("%s: %v", path.Base(name), err)}
		}
		return result{b: json.RawMessage(bytes.TrimSpace(b))}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %v", path.Base(name), err)
	}
	r := v.(result)
	return r.b, r.err
}

func (s *Server) readJournal(fsys fs.FS, name string, info fs.FileInfo) Journal {
	v, err := s.load(fsys, fsKey(fsys, name), name, info, func(b []byte) any { return parseJournal(b) })
	if err != nil {
		return Journal{Trials: []json.RawMessage{}, Problem: fmt.Sprintf("tune-journal.jsonl: cannot read: %v", err)}
	}
	return v.(Journal)
}
