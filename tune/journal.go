package tune

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

// header is the first line of a journal: what search wrote it.
type header struct {
	Journal  string `json:"journal"` // always "descent tune"
	Version  int    `json:"version"`
	Space    string `json:"space"`
	Method   string `json:"method"`
	Seed     uint64 `json:"seed"`
	Maximize bool   `json:"maximize"`
	Budget   int    `json:"budget"`
}

const journalMagic = "descent tune"

func (s Search) header() header {
	return header{Journal: journalMagic, Version: 1, Space: s.Space.String(), Method: s.Method.String(), Seed: s.Seed, Maximize: s.Maximize, Budget: s.budget()}
}

// journal appends finished trials to a file, one JSON line each, synced to
// disk before the next.
type journal struct {
	f    *os.File
	path string
}

// openJournal opens the journal at path for search h, creating it if it
// does not exist, and returns the trials it records. A last line cut short
// (the process died while writing it) is dropped; any other bad line is
// an error.
func openJournal(path string, h header) (*journal, []TrialResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("tune: journal: %w", err)
	}
	j := &journal{f: f, path: path}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("tune: journal %s: %w", path, err)
	}
	if len(data) == 0 {
		line, _ := json.Marshal(h)
		if err := j.write(line); err != nil {
			f.Close()
			return nil, nil, err
		}
		return j, nil, nil
	}
	done, good, err := readJournal(path, data, h)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if good < int64(len(data)) { // drop a torn last line before appending
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("tune: journal %s: %w", path, err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("tune: journal %s: %w", path, err)
	}
	return j, done, nil
}

// readJournal parses a journal's bytes, checks its header against h, and
// returns its trials and the length of its complete lines.
func readJournal(path string, data []byte, h header) ([]TrialResult, int64, error) {
	var done []TrialResult
	var off int64
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // a torn last line
		}
		line := data[:i]
		if n == 1 {
			var got header
			if err := json.Unmarshal(line, &got); err != nil || got.Journal != journalMagic {
				return nil, 0, fmt.Errorf("tune: %s is not a tune journal: its first line is %.60q", path, line)
			}
			if err := sameSearch(got, h); err != nil {
				return nil, 0, fmt.Errorf("tune: journal %s was written by a different search: %w", path, err)
			}
		} else {
			var t TrialResult
			if err := json.Unmarshal(line, &t); err != nil {
				return nil, 0, fmt.Errorf("tune: journal %s: line %d (byte %d): %w", path, n, off, err)
			}
			done = append(done, t)
		}
		off += int64(i) + 1
		data = data[i+1:]
	}
	if off == 0 {
		return nil, 0, fmt.Errorf("tune: journal %s has no complete first line", path)
	}
	return done, off, nil
}

func sameSearch(got, want header) error {
	switch {
	case got.Version != want.Version:
		return fmt.Errorf("version %d there, %d here", got.Version, want.Version)
	case got.Space != want.Space:
		return fmt.Errorf("space %q there, %q here", got.Space, want.Space)
	case got.Method != want.Method:
		return fmt.Errorf("method %s there, %s here", got.Method, want.Method)
	case got.Seed != want.Seed:
		return fmt.Errorf("seed %d there, %d here", got.Seed, want.Seed)
	case got.Maximize != want.Maximize:
		return fmt.Errorf("maximize %v there, %v here", got.Maximize, want.Maximize)
	case got.Budget != want.Budget:
		return fmt.Errorf("budget %d there, %d here", got.Budget, want.Budget)
	}
	return nil
}

// append records a finished trial.
func (j *journal) append(t TrialResult) error {
	line, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("tune: journal %s: trial %d: %w", j.path, t.ID, err)
	}
	return j.write(line)
}

func (j *journal) write(line []byte) error {
	w := bufio.NewWriter(j.f)
	w.Write(line)
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		return fmt.Errorf("tune: journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("tune: journal %s: %w", j.path, err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// jsonFloat is a float64 that JSON can carry when it is NaN or ±Inf, as
// the strings "NaN", "+Inf" and "-Inf".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errors.New("tune: bad number " + strconv.Quote(s))
		}
		*f = jsonFloat(v)
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}
