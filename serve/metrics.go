package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Metrics is a run's metrics.jsonl as the page reads it: every complete
// line that parses, and the numeric keys they hold. A last line without its
// newline is being written and is left out until it is whole.
type Metrics struct {
	Keys         []string          `json:"keys"`   // the keys with a number for a value, in the order they first appear
	Points       []json.RawMessage `json:"points"` // the lines, each a JSON object
	Problem      string            `json:"problem,omitempty"`
	LongestEpoch float64           `json:"-"` // seconds, the largest "seconds" of a line
}

// metricsReader follows one metrics.jsonl. The file only grows while a run
// trains, so a read parses only the lines appended since the last one; a
// file that was rewritten (descent train --resume drops the epochs its
// checkpoint does not hold) is parsed again from the start.
type metricsReader struct {
	mu     sync.Mutex
	size   int64
	mtime  time.Time
	done   int64  // bytes parsed: the file up to the end of its last whole line
	tail   []byte // the last bytes before done, to tell a rewrite from an append
	line   int    // lines parsed
	seen   map[string]bool
	m      Metrics
	points []byte // the lines of m.Points, joined by commas
	parsed bool
	json   []byte // m encoded, made when first asked for
}

// tailLen is how many bytes before the end of what was parsed must be
// unchanged for the file to count as appended to.
const tailLen = 64

// readMetrics returns the metrics of the file name, whose FileInfo is info.
// The Metrics returned is never changed after. If encode is set, it also
// returns them as JSON, made once per change of the file.
func (s *Server) readMetrics(fsys fs.FS, name string, info fs.FileInfo, encode bool) (Metrics, []byte) {
	key := fsKey(fsys, name)
	s.cache.mu.Lock()
	if s.cache.metrics == nil {
		s.cache.metrics = map[string]*metricsReader{}
	}
	r := s.cache.metrics[key]
	if r == nil {
		r = &metricsReader{}
		r.reset()
		s.cache.metrics[key] = r
	}
	s.cache.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	// info may be older than what another request read since: what was
	// read is as new if the file has not been written to after it.
	if !r.parsed || info.ModTime().After(r.mtime) || info.Size() > r.size {
		if err := r.update(fsys, name); err != nil {
			r.reset()
			m := Metrics{Keys: []string{}, Points: []json.RawMessage{}, Problem: fmt.Sprintf("metrics.jsonl: cannot read: %v", err)}
			b, _ := json.Marshal(m)
			return m, b
		}
		r.parsed, r.json = true, nil
	}
	if encode && r.json == nil {
		r.json = r.encode()
	}
	return r.m, r.json
}

// encode writes r.m as JSON as json.Marshal would, but from the lines kept
// joined, so that a change costs a copy rather than a parse of every line.
func (r *metricsReader) encode() []byte {
	keys, _ := json.Marshal(r.m.Keys)
	b := make([]byte, 0, len(keys)+len(r.points)+64)
	b = append(b, `{"keys":`...)
	b = append(b, keys...)
	b = append(b, `,"points":[`...)
	b = append(b, r.points...)
	b = append(b, ']')
	if r.m.Problem != "" {
		p, _ := json.Marshal(r.m.Problem)
		b = append(b, `,"problem":`...)
		b = append(b, p...)
	}
	return append(b, '}')
}

// reset forgets what was parsed, but not the lock.
func (r *metricsReader) reset() {
	r.size, r.mtime, r.done, r.tail, r.line, r.json, r.points, r.parsed = 0, time.Time{}, 0, nil, 0, nil, nil, false
	r.seen = map[string]bool{}
	r.m = Metrics{Keys: []string{}, Points: []json.RawMessage{}}
}

func (r *metricsReader) update(fsys fs.FS, name string) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	from := int64(0)
	if rs, ok := f.(io.ReadSeeker); ok && r.done > 0 && info.Size() >= r.done {
		start := r.done - int64(len(r.tail))
		if _, err := rs.Seek(start, io.SeekStart); err == nil {
			head := make([]byte, len(r.tail))
			if _, err := io.ReadFull(rs, head); err == nil && bytes.Equal(head, r.tail) {
				from = r.done
			}
		}
		if from == 0 {
			if _, err := rs.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
	} else if r.done > 0 {
		from = -1 // cannot seek: read it all again
	}
	if from <= 0 {
		r.reset()
		from = 0
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	n := r.feed(b)
	r.done = from + int64(n)
	r.size, r.mtime = info.Size(), info.ModTime()
	// The tail: the bytes before done, from what was read or kept.
	keep := append(slices.Clone(r.tail), b[:n]...)
	r.tail = keep[max(0, len(keep)-tailLen):]
	return nil
}

// feed parses the whole lines at the start of b and returns how many bytes
// they take. The slices of r.m are appended to past the length that earlier
// callers hold, so what they hold does not change.
func (r *metricsReader) feed(b []byte) int {
	used := 0
	m := r.m
	for {
		i := bytes.IndexByte(b[used:], '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSpace(b[used : used+i])
		used += i + 1
		r.line++
		if len(line) == 0 {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal(line, &raw); err != nil {
			if m.Problem == "" {
				m.Problem = fmt.Sprintf("metrics.jsonl:%d: %v", r.line, err)
			}
			continue
		}
		var fresh []string
		for k, v := range raw {
			if x, ok := v.(float64); ok && !math.IsInf(x, 0) && !r.seen[k] {
				r.seen[k] = true
				fresh = append(fresh, k)
			}
		}
		sort.Strings(fresh) // the line's own order is lost in the map
		m.Keys = append(m.Keys, fresh...)
		m.Points = append(m.Points, json.RawMessage(bytes.Clone(line)))
		if len(r.points) > 0 {
			r.points = append(r.points, ',')
		}
		r.points = append(r.points, line...)
		if x, ok := raw["seconds"].(float64); ok {
			m.LongestEpoch = max(m.LongestEpoch, x)
		}
	}
	r.m = m
	return used
}
