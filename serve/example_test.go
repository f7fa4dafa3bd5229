package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/serve"
)

// A Server is an http.Handler over directories of runs, as descent serve
// binds it: the page asks /api/entries for what the directories hold, each
// with its kind and status, and /api/entry?id=… for one in full.
func Example() {
	tmp, err := os.MkdirTemp("", "descent-serve-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	// One finished run and one that is still open, both of one epoch.
	for _, name := range []string{"done", "open"} {
		r := recipe.Default()
		r.Model.Hidden, r.Epochs = []int{8}, 1
		rn, err := run.New(r, filepath.Join(tmp, name), run.Options{})
		if err == nil {
			err = rn.Train(context.Background())
		}
		if err == nil && name == "done" {
			_, err = rn.Finish(false)
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		defer rn.Close() // "open" holds its lock until then: it is running
	}

	s, err := serve.New(serve.Config{Dirs: []string{tmp}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ts := httptest.NewServer(s) // on 127.0.0.1; descent serve listens on 127.0.0.1:6006
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/api/entries")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var list struct{ Entries []serve.Entry }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range list.Entries {
		fmt.Println(e.Path, e.Kind, e.Status)
	}
	// Output:
	// done run finished
	// open run running
}
