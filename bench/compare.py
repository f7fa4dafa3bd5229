#!/usr/bin/python3
"""Runs descent's speed benchmarks beside the same work in PyTorch 1.13 (Debian's
python3-torch), OpenBLAS and a fused C loop at memory bandwidth, in one session,
and prints them side by side as a Markdown table.

    /usr/bin/python3 bench/compare.py [--rounds 3] [--only matmul,optim,train,fractions,lm]

With train (or fractions, which runs descent alone), it also prints each training benchmark's GFLOP/s as a fraction of
descent's 2-core sgemm 512³ rate, the two measured in turn every few milliseconds in one process
(BenchmarkTrainFraction, BenchmarkSeqStep's %sgemm; BenchmarkTrainFractionLocal for the same
steps on 2 in-process replicas, descent train --replicas 2), with the cache line's round trip
between the two cores in each round: the 2-core fractions follow it.

Never run in CI: it needs python3-torch, libopenblas-dev and gcc, and minutes of
quiet machine. The machines are shared and noisy, so every measurement is taken
--rounds times, alternating between descent and the references, and the median
is reported; compare ratios, not absolute numbers, across sessions.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = tempfile.mkdtemp(prefix="descent-bench-")


def sh(cmd, env=None, cwd=ROOT):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(cmd, shell=True, cwd=cwd, env=e, check=True, capture_output=True, text=True).stdout


def go_bench(pkg, pattern, benchtime, cpu=None):
    """Runs one Go benchmark pattern and returns {name: {metric: value}}; with
    cpu (as go test's -cpu, "1,2"), {(name, GOMAXPROCS): {metric: value}}."""
    flags = f" -cpu {cpu}" if cpu else ""
    out = sh(f"go test -run '^$' -bench '{pattern}' -benchtime {benchtime}{flags} -count 1 {pkg}")
    res = {}
    for line in out.splitlines():
        if not line.startswith("Benchmark"):
            continue
        f = line.split()
        m = re.match(r"(.*?)(?:-(\d+))?$", f[0])
        vals = {}
        for i in range(2, len(f) - 1, 2):
            try:
                vals[f[i + 1]] = float(f[i])
            except ValueError:
                pass
        res[(m.group(1), int(m.group(2) or 1)) if cpu else m.group(1)] = vals
    return res


def train_fraction(bench, name):
    """Runs one model of package train's fraction benchmark bench (2 cores,
    batch 128) and returns its GFLOP/s, fraction of the sgemm rate and the
    cores' round trip in ns."""
    v = go_bench("./train", f"^{bench}$/{name}/", "450x", cpu="2")[(f"{bench}/{name}/batch128", 2)]
    return v["GFLOP/s"], v["%sgemm"] / 100, v.get("rt-ns", float("nan"))


# --- the reference programs -------------------------------------------------

def build_c():
    sh(f"gcc -O3 -march=native -fopenmp -fno-math-errno bench/c/stream.c -o {TMP}/stream -lm")
    try:
        sh(f"gcc -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/c/gemm.c -o {TMP}/gemm -lopenblas")
        return True
    except subprocess.CalledProcessError:
        return False


def stream(threads):
    out = sh(f"{TMP}/stream", env={"OMP_NUM_THREADS": str(threads), "OMP_PROC_BIND": "true"})
    m = re.search(r"triad ([\d.]+) GB/s.*= ([\d.]+) ms per 10M", out)
    return float(m.group(1)), float(m.group(2))


def openblas(threads):
    out = sh(f"env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE {TMP}/gemm", env={"OPENBLAS_NUM_THREADS": str(threads)})
    return {f"{int(a)}x{int(b)}x{int(c)}": float(g) for a, b, c, g in re.findall(r"sgemm\s+(\d+)x\s*(\d+)x\s*(\d+)\s+[\d.]+ ms\s+([\d.]+) GFLOP/s", out)}


TORCH_OPT = r'''
import statistics, sys, time, torch
threads, n, k, name = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
ps = [torch.nn.Parameter(torch.rand(n // k)) for _ in range(k)]
for p in ps:
    p.grad = torch.rand_like(p) - 0.5
opt = {"SGD-momentum": lambda: torch.optim.SGD(ps, lr=1e-3, momentum=0.9),
       "RMSprop": lambda: torch.optim.RMSprop(ps, lr=1e-3),
       "Adam": lambda: torch.optim.Adam(ps, lr=1e-3),
       "AdamW": lambda: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.01)}[name]()
for _ in range(5):
    opt.step()
ts = []
for _ in range(11):
    t0 = time.perf_counter(); opt.step(); ts.append(time.perf_counter() - t0)
print(statistics.median(ts) * 1e3)
'''

TORCH_TRAIN = r'''
import sys, time, torch, torch.nn as nn
model_name, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads); torch.manual_seed(0)
if model_name == "cnn":
    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
else:
    bn = (lambda d: [nn.BatchNorm1d(d)]) if model_name == "mlpbn" else (lambda d: [])
    model = nn.Sequential(nn.Linear(784, 256), *bn(256), nn.ReLU(), nn.Linear(256, 256), *bn(256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
lossf = nn.CrossEntropyLoss()
N = 60000
X = torch.rand(N, 784); y = torch.randint(0, 10, (N,))
if model_name == "cnn":
    X = X.view(-1, 1, 28, 28)
def epoch(limit=None):
    perm = torch.randperm(N)
    for i, s in enumerate(range(0, N, 128)):
        if limit is not None and i >= limit:
            break
        idx = perm[s:s + 128]
        loss = lossf(model(X[idx]), y[idx])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
epoch(20)
t0 = time.perf_counter(); epoch(); dt = time.perf_counter() - t0
print(N / dt)
'''


TORCH_LM = r'''
import resource, sys, time, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[3])
from kjv_gpt import GPT, LSTMLM, init_gpt2
model_name, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads); torch.manual_seed(0)
vocab, batch, ctx = 63, 32, 128
if model_name == "gpt":
    model = GPT(vocab, 128, 4, 2, ctx); init_gpt2(model, 2)
else:
    model = LSTMLM(vocab, 256)
decay = [p for p in model.parameters() if p.dim() >= 2]
rest = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=3e-3)
def step():
    x, y = torch.randint(0, vocab, (batch, ctx)), torch.randint(0, vocab, (batch, ctx))
    loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
for _ in range(5):
    step()
n = 20
t0 = time.perf_counter()
for _ in range(n):
    step()
dt = time.perf_counter() - t0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(n * batch * ctx / dt)
'''


def lmbench(model, threads=0):
    """descent's language-model training step (bench/lmbench): tokens/s and peak RSS (MB)."""
    out = sh(f"{TMP}/lmbench -model {model} -threads {threads} -steps 20")
    m = re.search(r"([\d.]+) tokens/s.*peak RSS (\d+) MB", out)
    return float(m.group(1)), float(m.group(2))


def torch_lm(model, threads):
    """PyTorch's: tokens/s and peak RSS (MB)."""
    path = os.path.join(TMP, "lm.py")
    with open(path, "w") as f:
        f.write(TORCH_LM)
    out = sh(f"/usr/bin/python3 {path} {model} {threads} {os.path.join(ROOT, 'bench')}",
             env={"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}).split()
    return float(out[-1]), float(out[-2])


def torch_run(script, args, env):
    path = os.path.join(TMP, "t.py")
    with open(path, "w") as f:
        f.write(script)
    return float(sh(f"/usr/bin/python3 {path} {args}", env=env).strip().splitlines()[-1])


def torch_matmul(threads):
    script = r'''
import sys, statistics, time, torch
torch.set_num_threads(int(sys.argv[1]))
for M, K, N in [(128, 784, 256), (512, 512, 512), (1024, 1024, 1024)]:
    a, b = torch.rand(M, K), torch.rand(K, N)
    for _ in range(3): a @ b
    ts = []
    for _ in range(11 if M > 512 else 31):
        t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
    print(f"{M}x{K}x{N}", 2 * M * K * N / statistics.median(ts) / 1e9)
'''
    path = os.path.join(TMP, "mm.py")
    with open(path, "w") as f:
        f.write(script)
    out = sh(f"/usr/bin/python3 {path} {threads}", env={"OPENBLAS_NUM_THREADS": str(threads)})
    return {l.split()[0]: float(l.split()[1]) for l in out.splitlines()}


# --- the table -------------------------------------------------------------

def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="matmul,optim,train,lm")
    a = ap.parse_args()
    parts = a.only.split(",")
    have_blas = build_c() if {"matmul", "optim"} & set(parts) else False
    rows = []

    if "matmul" in parts:
        shapes = ["128x784x256", "512x512x512", "1024x1024x1024"]
        ours1, ours2, blas1, blas2 = {s: [] for s in shapes}, {s: [] for s in shapes}, {s: [] for s in shapes}, {s: [] for s in shapes}
        for _ in range(a.rounds):
            for name, v in go_bench("./internal/kernel", "^BenchmarkMatMul(OneCore)?$/^float32$/", "20x").items():
                s = name.split("/")[-1]
                s = {"512": "512x512x512", "1024": "1024x1024x1024"}.get(s, s)
                if s in shapes:
                    (ours1 if "OneCore" in name else ours2)[s].append(v.get("GFLOP/s", float("nan")))
            if have_blas:
                for s, g in openblas(1).items():
                    blas1[s].append(g)
                for s, g in openblas(2).items():
                    blas2[s].append(g)
        for s in shapes:
            rows.append((f"sgemm {s}, 1 core (GFLOP/s)", med(ours1[s]), med(blas1[s]), "OpenBLAS"))
            rows.append((f"sgemm {s}, 2 cores (GFLOP/s)", med(ours2[s]), med(blas2[s]), "OpenBLAS"))

    if "optim" in parts:
        for opt in ["SGD-momentum", "RMSprop", "Adam", "AdamW"]:
            go_ms, c_ms, t_ms, triad = [], [], [], []
            for _ in range(a.rounds):
                tr, c = stream(2)
                triad.append(tr)
                c_ms.append(c)
                r = go_bench("./optim", f"BenchmarkStep/{opt}/10M$", "30x")
                go_ms.append(r[f"BenchmarkStep/{opt}/10M"]["ns/op"] / 1e6)
                t_ms.append(min(torch_run(TORCH_OPT, f"{th} 10000000 1 {opt}", {}) for th in (1, 2)))
            rows.append((f"{opt} step, 10M float32 (ms)", med(go_ms), med(t_ms), "PyTorch (best of 1, 2 threads)"))
            if opt in ("Adam", "AdamW"):
                rows.append((f"{opt} step, 10M float32 (ms)", med(go_ms), med(c_ms), f"fused C Adam at bandwidth (triad {med(triad):.0f} GB/s)"))

    fractions = []
    if "train" in parts or "fractions" in parts:  # fractions: descent alone, no PyTorch
        settings = {"mlp": ("1", "2"), "mlpbn": ("1", "2"), "cnn": ("2", "1")}  # torch threads, OpenBLAS threads: the best here
        names = {"mlp": "mlp-784-256-256-10", "mlpbn": "mlpbn-784-256-256-10", "cnn": "cnn-28x28-c16-c32-10"}
        for m in ["mlp", "mlpbn", "cnn"]:
            ours, theirs, gflops, frac, rts = [], [], [], [], []
            for _ in range(a.rounds):
                # The fraction is BenchmarkTrainFraction's: training steps
                # and 2-core sgemm 512³ products in turn every few
                # milliseconds in one process, so that both see the same load.
                for out, val in zip((gflops, frac, rts), train_fraction("BenchmarkTrainFraction", names[m])):
                    out.append(val)
                if "train" in parts:
                    r = go_bench("./train", f"^BenchmarkTrainStep$/{names[m]}/", "200x" if m != "cnn" else "40x")
                    ours.append(r[f"BenchmarkTrainStep/{names[m]}/batch128"]["samples/s"])
                    th, blas = settings[m]
                    theirs.append(torch_run(TORCH_TRAIN, f"{m} {th}", {"OPENBLAS_NUM_THREADS": blas}))
            if "train" in parts:
                rows.append((f"train {m}, batch 128, AdamW (samples/s)", med(ours), med(theirs), "PyTorch 1.13"))
            fractions.append((f"train {m}, batch 128, AdamW", med(gflops), med(frac), rts))
        for m in ["mlp", "mlpbn", "cnn"]:
            gflops, frac, rts = [], [], []
            for _ in range(a.rounds):
                # The same steps data-parallel over 2 in-process ranks
                # (comm.Local, descent train --replicas 2), each on one core.
                for out, val in zip((gflops, frac, rts), train_fraction("BenchmarkTrainFractionLocal", names[m])):
                    out.append(val)
            fractions.append((f"train {m}, batch 128, AdamW, 2 replicas", med(gflops), med(frac), rts))
        for name, pattern in [("gpt-block-d128-h4/batch32-ctx128", "gpt-block"), ("lstm-256/batch32-ctx128", "lstm-256"), ("gpt-2x128-vocab96/batch32-ctx128", "gpt-2x128")]:
            gflops, frac, rts = [], [], []
            for _ in range(a.rounds):
                # Each step is paired with sgemm 512³ products timed right
                # after it in the same process (benchmarkSeqStep).
                v = go_bench("./nn", f"BenchmarkSeqStep/{pattern}", "5x", cpu="2")[(f"BenchmarkSeqStep/{name}", 2)]
                gflops.append(v["GFLOP/s"])
                frac.append(v["%sgemm"] / 100)
                rts.append(v.get("rt-ns", float("nan")))
            fractions.append((f"forward and backward, {name}", med(gflops), med(frac), rts))

    if "lm" in parts:
        # The language models of issue 17 (bench/kjv_gpt.py's recipe):
        # descent on both cores beside PyTorch at its better thread setting
        # (1 or 2), each round alternating; tokens/s of the whole training
        # step, and the peak RSS of each process.
        sh(f"go build -o {TMP}/lmbench ./bench/lmbench")
        for m, spec in [("gpt", "gpt:layers=2,d=128,heads=4,ctx=128"), ("lstm", "lstm:256,ctx=128")]:
            ours, theirs, rss, trss = [], [], [], []
            for _ in range(a.rounds):
                tps, mb = lmbench(spec)
                ours.append(tps)
                rss.append(mb)
                best = max(torch_lm(m, th) for th in (1, 2))
                theirs.append(best[0])
                trss.append(best[1])
            rows.append((f"train {spec}, batch 32, AdamW, clip 1 (tokens/s)", med(ours), med(theirs), "PyTorch 1.13 (best of 1, 2 threads)"))
            rows.append((f"train {spec}: peak RSS (MB)", med(rss), med(trss), "PyTorch 1.13, same run"))

    if rows:
        print(f"\n| work | descent | reference | descent is | reference is |")
        print("|---|---|---|---|---|")
    for work, ours, ref, what in rows:
        # Times (ms) are better lower, rates better higher: say how many
        # times faster descent is either way.
        if "(MB)" in work:
            print(f"| {work} | {ours:.4g} | {ref:.4g} | {ours / ref:.2f}× the memory | {what} |")
            continue
        speedup = ref / ours if "(ms)" in work else ours / ref
        print(f"| {work} | {ours:.4g} | {ref:.4g} | {speedup:.2f}× as fast | {what} |")
    if fractions:
        # GFLOP/s counts the products only (see stepFlops in
        # train/bench_test.go); the fraction is the benchmarks' own, of the
        # 2-core sgemm 512³ rate measured in turn with the steps in the same
        # process, median over the rounds.
        # The cores' round trip (kernel.RoundTrip) of each round, in ns:
        # the 2-core fractions follow it, and on a virtual machine it moves
        # between about 110 ns (two vCPUs near each other) and 450 ns.
        print(f"\n| descent, 2 cores | GFLOP/s | fraction of sgemm 512³ | cores' round trip (ns), each round |")
        print("|---|---|---|---|")
        for work, g, f, rts in fractions:
            print(f"| {work} | {g:.4g} | {100 * f:.0f}% | {', '.join(f'{r:.0f}' for r in rts)} |")


if __name__ == "__main__":
    main()
