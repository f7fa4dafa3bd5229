package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// helpFlags returns the flags that "descent ARGS -h" lists.
func helpFlags(t *testing.T, args ...string) (help string, flags []string) {
	t.Helper()
	out, _, code := descent(t, append(args, "-h")...)
	if code != 0 {
		t.Fatalf("descent %s -h: exit %d", strings.Join(args, " "), code)
	}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "  -"); ok && rest != "" && rest[0] != '-' {
			flags = append(flags, strings.Fields(rest)[0])
		}
	}
	return out, flags
}

// readmeBullet returns the README's bullet on the command cmd, which
// starts "- `cmd`".
func readmeBullet(t *testing.T, cmd string) string {
	t.Helper()
	readme := string(readFile(t, filepath.Join("..", "..", "README.md")))
	_, bullet, ok := strings.Cut(readme, "\n- `"+cmd+"` ")
	if !ok {
		t.Fatalf("the README has no bullet on %s", cmd)
	}
	bullet, _, _ = strings.Cut(bullet, "\n- ")
	bullet, _, _ = strings.Cut(bullet, "\n\n")
	return bullet
}

// TestTakesTrainFlags checks, for each command that takes the flags of
// descent train (notTaken), that it takes every one, or says in its help
// and in the README's bullet on it that it does not (the optimizer's
// hyperparameters as one group); that it does not list among its flags one
// it does not take; and that it refuses each, given. Compare's help said
// it took every one, and refused --accumulate.
func TestTakesTrainFlags(t *testing.T) {
	_, trainFlags := helpFlags(t, "train")
	if len(trainFlags) < 40 {
		t.Fatalf("train -h lists %d flags: the help's format changed?", len(trainFlags))
	}
	for _, cmd := range commandNames() {
		if _, ok := notTaken[cmd]; !ok && cmd != "train" {
			if help, _ := helpFlags(t, cmd); strings.Contains(help, `those of "descent train"`) {
				t.Errorf("%s -h says it takes the flags of train, and notTaken does not say which it does not", cmd)
			}
		}
	}
	for _, cmd := range slices.Sorted(maps.Keys(notTaken)) {
		t.Run(cmd, func(t *testing.T) {
			help, flags := helpFlags(t, cmd)
			if len(flags) < 10 {
				t.Fatalf("%s -h lists %d flags: the help's format changed?", cmd, len(flags))
			}
			if !strings.Contains(help, notTakenDoc(cmd)) {
				t.Errorf("%s -h does not say which flags of train it does not take:\n%s", cmd, help)
			}
			readme := readmeBullet(t, cmd)
			why := untakenFlags(cmd)
			for _, f := range trainFlags {
				_, listed := why[f]
				taken := slices.Contains(flags, f)
				switch {
				case taken && listed:
					t.Errorf("%s -h lists --%s, which it does not take", cmd, f)
				case !taken && !listed:
					t.Errorf("%s does not take train's --%s, and its help does not say so", cmd, f)
				}
			}
			for _, u := range notTaken[cmd] {
				for _, f := range u.flags {
					if !slices.Contains(trainFlags, f) {
						t.Errorf("%s does not take --%s, which train does not have", cmd, f)
					}
					if !strings.Contains(readme, "`--"+f+"`") {
						t.Errorf("%s does not take train's --%s, and the README's %s does not say so", cmd, f, cmd)
					}
				}
				if u.hyper && !strings.Contains(readme, "hyperparameters") {
					t.Errorf("%s does not take the optimizer's hyperparameters, and the README's %s does not say so", cmd, cmd)
				}
			}
			for f, reason := range why {
				_, errOut, code := descent(t, cmd, "--"+f+"=1")
				if code != 1 || !strings.Contains(errOut, "--"+f+" does not apply: "+reason) {
					t.Errorf("descent %s --%s=1: exit %d, %s; want it refused with the reason", cmd, f, code, errOut)
				}
			}
		})
	}
}

// TestRankFlagsNotTaken checks that the commands that take train's flags
// and train each run in one process refuse every flag of train that is
// about several ranks (its help names mpirun): compare, lr-find and tune
// took --sync-bn, which did nothing there.
func TestRankFlagsNotTaken(t *testing.T) {
	help, _ := helpFlags(t, "train")
	var rankFlags []string
	name := ""
	for _, line := range strings.Split(help, "\n") {
		if rest, ok := strings.CutPrefix(line, "  -"); ok && rest != "" {
			name = strings.Fields(rest)[0]
		} else if name != "" && strings.Contains(line, "mpirun") && !slices.Contains(rankFlags, name) {
			rankFlags = append(rankFlags, name)
		}
	}
	for _, want := range []string{"replicas", "sync-bn"} {
		if !slices.Contains(rankFlags, want) {
			t.Fatalf("train -h names mpirun for %v, not for --%s: the help changed?", rankFlags, want)
		}
	}
	for _, cmd := range []string{"compare", "lr-find", "tune"} {
		why := untakenFlags(cmd)
		for _, f := range rankFlags {
			if _, ok := why[f]; !ok {
				t.Errorf("%s takes train's --%s, about several ranks, though it trains each run in one process", cmd, f)
			}
		}
	}
}

// TestMaxMemory checks that every command that trains refuses to with
// --max-memory 1kB, before it makes its output directory, and refuses a
// --max-memory that is no size.
func TestMaxMemory(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--epochs", "1"},
		{"compare", "--epochs", "1", "--seeds", "1"},
		{"lr-find"},
		{"tune", "--epochs", "1", "--trials", "2"},
	} {
		t.Run(args[0], func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			commandFailsWith(t, "--max-memory is 1 kB", append(args, "--max-memory", "1kB", "--out", dir)...)
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("descent %s --max-memory 1kB made %s", args[0], dir)
			}
			commandFailsWith(t, "--max-memory", append(args, "--max-memory", "lots", "--out", dir)...)
		})
	}
}

// TestTuneMaxMemory checks that tune counts each trial that trains at once
// as the largest the space may make.
func TestTuneMaxMemory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	commandFailsWith(t, "the largest trial of --space: mlp:4096,4096 with batch 512, 2 runs at once",
		"tune", "--space", "lr=log(1e-3,1e-1) model=choice(linear,mlp-4096-4096) batch=choice(32,512)", "--workers", "2",
		"--max-memory", "100MB", "--out", dir)
	commandFailsWith(t, "mlp:32 with batch 1000, 3 runs at once",
		"tune", "--space", "lr=log(1e-3,1e-1) batch=int(10,1000)", "--model", "mlp:32", "--workers", "3", "--max-memory", "1MB", "--out", dir)
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("tune refused for its memory made %s", dir)
	}
}
