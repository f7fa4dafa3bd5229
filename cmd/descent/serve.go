package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/descentml/descent/serve"
)

const aboutServe = `Serves a live web view of the run, compare, AdamW-vs-L2, landscape, lr-find
and tune directories under each DIR (default runs/), up to two levels down,
also those that appear while it serves: configurations, summaries, status
(running, finished, stopped, failed, or unknown: locked on another machine
that shares the directory, and not written to lately), curves that grow
while a run trains, overlays of ticked runs, compare's mean ± std bands,
heatmaps, paths, and tune's trials. The page and its chart library are
embedded: it works offline.

It listens on 127.0.0.1:6006, reachable from this machine only, unless
--addr says otherwise (--addr :6006 listens on every interface: anyone who
can reach the port can read the directories' metrics and figures). It only
reads, and serves no file outside the directories given.`

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "[flags] [DIR ...]", aboutServe)
	addr := fs.String("addr", "127.0.0.1:6006", "the `address` to listen on, host:port")
	idle := fs.Duration("idle", 2*time.Minute, "how long a run without a summary may go without writing before it counts as stopped")
	// Directories come after the flags; parseFlags refuses arguments, so
	// parse the flags alone.
	fs.SetOutput(stderr)
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	dirs := fs.Args()
	for _, d := range dirs {
		if strings.HasPrefix(d, "-") {
			return fmt.Errorf("%s after the directory %s: flags go before directories (descent serve [flags] [DIR ...])", d, dirs[0])
		}
	}
	if *idle <= 0 {
		return fmt.Errorf("--idle %v: must be positive", *idle)
	}
	if len(dirs) == 0 {
		dirs = []string{"runs"}
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %v", *addr, err)
	}
	// Requests may name the host of --addr or this machine's name.
	hosts := []string{host}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	s, err := serve.New(serve.Config{Dirs: dirs, Idle: *idle, Hosts: hosts})
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", *addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	fmt.Fprintf(stdout, "serving %v at http://%s/ (Ctrl-C to stop)\n", dirs, ln.Addr())
	ctx, stop := interruptible()
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
