#!/usr/bin/python3
"""The quality bar of issue 17 in PyTorch 1.13: descent's language-model
recipe on the King James Bible, for comparison with

    descent train --data kjv --model gpt:layers=2,d=128,heads=4,ctx=128 \
        --opt adamw --lr 3e-3 --wd 0.1 --decay-weights-only --clip-norm 1 \
        --batch 32 --schedule cosine --warmup 100 --steps 3000 \
        --eval-every 250 --seed S

(and --model lstm:256 with --model lstm here). Never run in CI.

Everything a result depends on is made the same as descent's:

- the text: kjv.txt as data.KJV caches it ($DESCENT_DATA, else
  ~/.cache/descent), one verse per line;
- the vocabulary: the text's distinct characters in code-point order
  (data.CharVocab);
- the split by position, as data.NewText: train first, then validation
  (int(0.1·n) tokens), then test (int(0.1·n));
- training batches: 32 windows of ctx tokens at uniform random starts in
  [0, len(train) − ctx), each with its next tokens as targets;
- the model: nn.Transformer's layout and state_dict names (token and
  learned position embeddings, pre-LN blocks of LayerNorm(eps 1e-5) →
  causal nn.MultiheadAttention without biases → residual, LayerNorm →
  Linear(d, 4d) → GELU(tanh) → Linear(4d, d) → residual, final LayerNorm,
  Linear head with bias), initialised as GPT-2 (see init_gpt2), or
  nn.RecurrentLM's (Embedding → LSTM → Linear, PyTorch's default init);
- AdamW (β 0.9, 0.999, ε 1e-8) with weight decay on the parameters of two
  or more dimensions only (optim.WeightsOnly), the gradients' global norm
  clipped to 1 before the step;
- the rate: linear warm-up from lr/W to lr over W steps, then a half cosine
  to 0 over the remaining steps, step t (from 0) using the value at t
  (optim/spec Schedule.Resolve with warmup);
- validation: the first 65,536 validation tokens (recipe.ValTokens) cut
  into (65,536 − 1) // ctx consecutive windows, evaluated 32 at a time; the
  mean next-token cross-entropy over all their positions, in bits.

It prints one JSON line per evaluation, as descent's metrics.jsonl
(step, tokens, lr, train_loss, val_bits_per_char, seconds).
"""

import argparse
import json
import math
import os
import resource
import sys
import time

if __name__ == "__main__":
    # OpenBLAS (Debian's numpy and torch call it through libblas.so.3)
    # starts its own threads when it is loaded, and they spin: give it as
    # many as torch has, before numpy or torch loads it.
    for i, a in enumerate(sys.argv):
        if a.startswith("--threads"):
            n = a.split("=", 1)[1] if "=" in a else sys.argv[i + 1]
            os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = n
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VAL_TOKENS = 1 << 16


def load_kjv(path):
    if path is None:
        d = os.environ.get("DESCENT_DATA") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "descent")
        path = os.path.join(d, "kjv.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.count("\n") != 31102:
        sys.exit(f"kjv_gpt.py: {path} does not hold the 31,102 verses; run descent train --data kjv once to extract it")
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    n = len(ids)
    n_test, n_val = int(0.1 * n), int(0.1 * n)
    n_train = n - n_val - n_test
    return len(chars), ids[:n_train], ids[n_train:n_train + n_val]


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = nn.MultiheadAttention(d, heads, bias=False, batch_first=True)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, ff)
        self.fc2 = nn.Linear(ff, d)

    def forward(self, x, mask):
        a = self.ln1(x)
        a, _ = self.attn(a, a, a, attn_mask=mask, need_weights=False)
        x = x + a
        m = self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))
        return x + m


class GPT(nn.Module):
    def __init__(self, vocab, d, heads, layers, ctx):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d)
        self.pos_emb = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, heads, 4 * d) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", torch.triu(torch.full((ctx, ctx), float("-inf")), 1), persistent=False)

    def forward(self, x):
        t = x.shape[1]
        h = self.tok_emb(x) + self.pos_emb.weight[:t]
        mask = self.mask[:t, :t]
        for b in self.blocks:
            h = b(h, mask)
        return self.head(self.ln_f(h))


def init_gpt2(model, layers):
    """GPT-2's initialisation (as nanoGPT and minGPT): every matrix and
    embedding from N(0, 0.02²), the projections back into the residual
    stream (attn.out_proj, fc2) from N(0, (0.02/√(2·layers))²), biases 0,
    LayerNorms 1 and 0. descent's nn.Transformer draws the same
    distributions (from its own generator)."""
    for name, p in model.named_parameters():
        if name.endswith("out_proj.weight") or name.endswith("fc2.weight"):
            nn.init.normal_(p, 0, 0.02 / math.sqrt(2 * layers))
        elif p.dim() >= 2:
            nn.init.normal_(p, 0, 0.02)
        elif "ln" in name and name.endswith("weight"):
            nn.init.ones_(p)
        else:
            nn.init.zeros_(p)


class LSTMLM(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.emb = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.emb(x))
        return self.head(h)


def lr_factor(t, warmup, steps):
    if warmup > 0 and t < warmup:
        return 1 / warmup + (1 - 1 / warmup) * t / warmup
    return (1 + math.cos(math.pi * (t - warmup) / max(steps - warmup, 1))) / 2


@torch.no_grad()
def evaluate(model, val, ctx, batch):
    model.eval()
    val = val[:VAL_TOKENS]
    chunks = (len(val) - 1) // ctx
    total = 0.0
    for lo in range(0, chunks, batch):
        b = min(batch, chunks - lo)
        x = torch.from_numpy(np.stack([val[k * ctx:(k + 1) * ctx] for k in range(lo, lo + b)]))
        y = torch.from_numpy(np.stack([val[k * ctx + 1:(k + 1) * ctx + 1] for k in range(lo, lo + b)]))
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item() * b
    model.train()
    return total / chunks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["gpt", "lstm"], default="gpt")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d", type=int, default=128, help="gpt: width; lstm: hidden width (descent's lstm:256 is --d 256)")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--init", choices=["gpt2", "pytorch"], default="gpt2",
                    help="gpt: GPT-2's N(0, 0.02) (descent's default) or PyTorch's layer defaults")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--text", help="kjv.txt (default: descent's cache)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    vocab, train, val = load_kjv(a.text)
    if a.model == "gpt":
        model = GPT(vocab, a.d, a.heads, a.layers, a.ctx)
        if a.init == "gpt2":
            init_gpt2(model, a.layers)
    else:
        model = LSTMLM(vocab, a.d)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": rest, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: lr_factor(t, a.warmup, a.steps))
    gen = torch.Generator().manual_seed(a.seed)
    train_t = torch.from_numpy(train)
    offs = torch.arange(a.ctx)
    loss_sum, loss_n, start, train_sec = 0.0, 0, time.perf_counter(), 0.0
    print(json.dumps({"model": a.model, "params": sum(p.numel() for p in model.parameters()), "vocab": vocab,
                      "threads": a.threads, "torch": torch.__version__, "init": a.init}), flush=True)
    for step in range(1, a.steps + 1):
        lr = opt.param_groups[0]["lr"]
        starts = torch.randint(0, len(train) - a.ctx, (a.batch,), generator=gen)
        idx = starts[:, None] + offs
        x, y = train_t[idx], train_t[idx + 1]
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        sched.step()
        loss_sum += loss.item()
        loss_n += 1
        if step % a.eval_every == 0 or step == a.steps:
            sec = time.perf_counter() - start
            train_sec += sec
            vl = evaluate(model, val, a.ctx, a.batch)
            print(json.dumps({"step": step, "tokens": step * a.batch * a.ctx, "lr": lr,
                              "train_loss": loss_sum / loss_n, "val_loss": vl, "val_bits_per_char": vl / math.log(2),
                              "seconds": sec, "train_tokens_per_s": step * a.batch * a.ctx / train_sec}), flush=True)
            loss_sum, loss_n, start = 0.0, 0, time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"final_val_bits_per_char": vl / math.log(2), "max_rss_bytes": rss}), flush=True)


if __name__ == "__main__":
    main()
