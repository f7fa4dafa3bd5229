package serve

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Config configures a Server.
type Config struct {
	// Dirs are the directories served; each is scanned, itself and up to
	// two levels below, for run, compare, landscape, lr-find and tune
	// directories. At least one is required.
	Dirs []string
	// Idle is how long a run without a summary may go without writing
	// before it counts as stopped or failed rather than running (a run
	// whose epochs are longer gets three of its longest epochs). Zero
	// means two minutes; a negative value is an error.
	Idle time.Duration
	// Hosts are host names, besides IP addresses and "localhost", that
	// requests may name in their Host header (the name of the machine, when
	// the server listens beyond loopback). Any other name is refused, so
	// that a web page cannot reach the server by rebinding a domain name to
	// 127.0.0.1. Nil means none.
	Hosts []string
}

// Server is the web view, an http.Handler. It only reads.
type Server struct {
	roots []root
	idle  time.Duration
	hosts map[string]bool
	now   func() time.Time
	mux   *http.ServeMux
	page  *template.Template
	cache cache
}

// root is one of the directories served.
type root struct {
	name string // as given, for display
	r    *os.Root
	fsys *dirFS // every file is read through it
}

var _ http.Handler = (*Server)(nil)

// New opens the directories of cfg and returns the view of them. It
// returns an error if there are none or one cannot be opened. Close
// releases them.
func New(cfg Config) (*Server, error) {
	if len(cfg.Dirs) == 0 {
		return nil, errors.New("no directory to serve")
	}
	if cfg.Idle < 0 {
		return nil, fmt.Errorf("idle time %v: must not be negative", cfg.Idle)
	}
	s := &Server{idle: cfg.Idle, now: time.Now, hosts: map[string]bool{"localhost": true}}
	if s.idle == 0 {
		s.idle = 2 * time.Minute
	}
	for _, h := range cfg.Hosts {
		s.hosts[strings.ToLower(h)] = true
	}
	for _, d := range cfg.Dirs {
		info, err := os.Stat(d)
		if err == nil && !info.IsDir() {
			err = fmt.Errorf("%s is not a directory", d)
		}
		var r *os.Root
		if err == nil {
			r, err = os.OpenRoot(d)
		}
		if err == nil {
			_, err = fs.ReadDir(&dirFS{r}, ".")
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			err = fmt.Errorf("%s does not exist", d)
		case errors.Is(err, fs.ErrPermission):
			err = fmt.Errorf("%s cannot be read: permission denied", d)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		s.roots = append(s.roots, root{name: filepath.ToSlash(filepath.Clean(d)), r: r, fsys: &dirFS{r}})
	}
	s.page = template.Must(template.ParseFS(static, "static/index.html"))
	sub, _ := fs.Sub(static, "static")
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	s.mux.HandleFunc("GET /api/entries", s.entries)
	s.mux.HandleFunc("GET /api/entry", s.entry)
	s.mux.HandleFunc("GET /file/{root}/{path...}", s.file)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		notFound(w, "no such page")
	})
	return s, nil
}

// Close releases the directories.
func (s *Server) Close() error {
	var errs []error
	for _, r := range s.roots {
		errs = append(errs, r.r.Close())
	}
	return errors.Join(errs...)
}

// ServeHTTP answers GET and HEAD requests for the page, its API and the
// figures in the served directories.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.hostAllowed(r.Host) {
		http.Error(w, "unknown host "+strconv.Quote(r.Host), http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) hostAllowed(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	return net.ParseIP(host) != nil || s.hosts[host]
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	var names []string
	for _, r := range s.roots {
		names = append(names, r.name)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The template is embedded and tested: an error is a client gone away.
	s.page.Execute(w, struct{ Dirs []string }{names})
}

// entriesReply is /api/entries.
type entriesReply struct {
	Dirs    []string `json:"dirs"`
	Entries []Entry  `json:"entries"`
}

func (s *Server) entries(w http.ResponseWriter, r *http.Request) {
	rep := entriesReply{Dirs: []string{}, Entries: s.scan()}
	for _, r := range s.roots {
		rep.Dirs = append(rep.Dirs, r.name)
	}
	writeJSON(w, rep, "", nil)
}

// entryReply is /api/entry?id=ID: the entry and what its kind shows; a
// run's reply also has "metrics", its Metrics.
type entryReply struct {
	Entry   Entry           `json:"entry"`
	Result  json.RawMessage `json:"result,omitempty"`  // compare.json, landscape.json, ...
	Journal *Journal        `json:"journal,omitempty"` // a tune's
}

func (s *Server) entry(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	ri, dir, ok := s.splitID(id)
	if !ok {
		notFoundJSON(w, fmt.Sprintf("no entry %q", id))
		return
	}
	fsys := s.roots[ri].fsys
	var e Entry
	found := false
	for _, x := range s.walk(nil, ri, fsys, dir, depthOf(dir)) {
		if x.Path == dir {
			e, found = x, true
			break
		}
	}
	if !found {
		notFoundJSON(w, fmt.Sprintf("no entry %q", id))
		return
	}
	rep := entryReply{Entry: e}
	var metrics []byte
	stat := func(name string) fs.FileInfo {
		info, err := fs.Stat(fsys, path.Join(dir, name))
		if err != nil {
			return nil
		}
		return info
	}
	switch e.Kind {
	case KindRun:
		if info := stat("metrics.jsonl"); info != nil {
			_, metrics = s.readMetrics(fsys, path.Join(dir, "metrics.jsonl"), info, true)
		} else {
			metrics = []byte(`{"keys":[],"points":[]}`)
		}
	case KindTune:
		if info := stat("tune.json"); info != nil {
			rep.Result, _ = s.readJSON(fsys, path.Join(dir, "tune.json"), info)
		}
		if info := stat("tune-journal.jsonl"); info != nil {
			j := s.readJournal(fsys, path.Join(dir, "tune-journal.jsonl"), info)
			rep.Journal = &j
		}
	default:
		if name, ok := resultFile[e.Kind]; ok {
			if info := stat(name); info != nil {
				rep.Result, _ = s.readJSON(fsys, path.Join(dir, name), info)
			}
		}
	}
	// The metrics are valid JSON already, and may be long: they are
	// written as they are rather than checked again by json.Marshal.
	writeJSON(w, rep, "metrics", metrics)
}

// depthOf is how deep a cleaned slash path lies below its root.
func depthOf(dir string) int {
	if dir == "." {
		return 0
	}
	return strings.Count(dir, "/") + 1
}

// splitID parses "ROOT/PATH" into a root index and a path local to it.
func (s *Server) splitID(id string) (int, string, bool) {
	i, p, ok := strings.Cut(id, "/")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.Atoi(i)
	if err != nil || n < 0 || n >= len(s.roots) || strconv.Itoa(n) != i {
		return 0, "", false
	}
	if !fs.ValidPath(p) || strings.Contains(p, `\`) || depthOf(p) >= maxDepth {
		return 0, "", false
	}
	// Hidden files and directories are not listed, so not served.
	if p != "." && (strings.HasPrefix(p, ".") || strings.Contains(p, "/.")) {
		return 0, "", false
	}
	return n, p, true
}

// file serves a figure or JSON file of an entry: /file/ROOT/PATH.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	ri, name, ok := s.splitID(r.PathValue("root") + "/" + r.PathValue("path"))
	if !ok || name == "." {
		notFound(w, "no such file")
		return
	}
	var ctype string
	switch path.Ext(name) {
	case ".png":
		ctype = "image/png"
	case ".gif":
		ctype = "image/gif"
	case ".json", ".jsonl":
		ctype = "application/json"
	default:
		notFound(w, "no such file")
		return
	}
	// os.Root refuses "..", absolute paths and symbolic links that lead
	// outside the directory; fs.ValidPath above has refused them already.
	// dirFS opens nothing but files and directories.
	f, err := s.roots[ri].fsys.open(name)
	if err != nil {
		notFound(w, "no such file")
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		notFound(w, "no such file")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// writeJSON writes v, and, if raw is not nil, adds to the object v encodes
// the field name with the JSON raw as it is.
func writeJSON(w http.ResponseWriter, v any, name string, raw []byte) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if raw == nil {
		w.Write(b)
		return
	}
	k, _ := json.Marshal(name)
	b = append(b[:len(b)-1], ',')
	b = append(append(b, k...), ':')
	w.Write(b)
	w.Write(raw)
	io.WriteString(w, "}")
}

func notFoundJSON(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(b)
}

var notFoundPage = template.Must(template.New("404").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>not found · descent</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main class="notfound"><h1>404</h1><p>{{.}}</p><p><a href="/">all runs</a></p></main></body></html>
`))

func notFound(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	if err := notFoundPage.Execute(w, msg); err != nil {
		io.WriteString(w, "not found")
	}
}
