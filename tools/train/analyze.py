"""Measurements on a trained model, computed with the numpy forward (gpt2_numpy): held-out loss, a unigram
baseline, TransformerLens-style head scores, the logit lens, sampling, and GPT-2 byte-level decoding.

Head scores (patterns P [B, H, T, T], query i attends to key j <= i):
  prev-token score  mean over queries i >= 1 of P[i, i-1]                      (on held-out text)
  induction score   on [BOS?] + R + R, R uniformly random tokens of length n: mean over the queries in the
                    second copy of the attention to the token after the first occurrence of the query's token
                    (query at offset + n + k attends to offset + k + 1)
  sink score        mean over queries i >= 1 of P[i, 0]                        (on held-out text)
"""

import json

import numpy as np

import gpt2_numpy as g

EOT = 50256


# --- data --------------------------------------------------------------------------------------------------------


def eval_windows(val, T):
    """Held-out windows: [EOT] + the next T held-out tokens, non-overlapping -> idx, targets [n, T]."""
    n = len(val) // T
    w = np.empty((n, T + 1), dtype=np.int64)
    w[:, 0] = EOT
    w[:, 1:] = val[: n * T].reshape(n, T)
    return w[:, :-1], w[:, 1:]


def subset_rows(n_windows, k=16):
    """k windows spread evenly over the held-out set (the fixed subset the test re-evaluates)."""
    return np.linspace(0, n_windows - 1, k).round().astype(int)


def heldout_nll(params, cfg, idx, targets, batch=4):
    """Per-token negative log-likelihood [n, T] in nats, softmax over all 50257 tokens."""
    return np.concatenate(
        [g.nll_full_vocab(params, cfg, idx[s : s + batch], targets[s : s + batch]) for s in range(0, len(idx), batch)]
    )


def unigram_logprobs(train, V, alpha=1.0):
    """log p(token) with add-alpha smoothing over all V tokens, fit on the training stream."""
    counts = np.bincount(train, minlength=V).astype(np.float64) + alpha
    return np.log(counts / counts.sum())


# --- attention -----------------------------------------------------------------------------------------------------


def patterns(params, cfg, idx):
    """idx [B, T] -> attention patterns [L, B, H, T, T] (float32)."""
    _, cache = g.forward(params, cfg, idx)
    return np.stack([c[2][3] for c in cache["blocks"]])


def prev_token_scores(params, cfg, idx):
    P = patterns(params, cfg, idx)  # [L, B, H, T, T]
    T = idx.shape[1]
    return P[..., np.arange(1, T), np.arange(0, T - 1)].mean(axis=(1, 3))  # [L, H]


def sink_scores(params, cfg, idx):
    P = patterns(params, cfg, idx)
    return P[..., 1:, 0].mean(axis=(1, 3))  # [L, H]


def repeated_random(rng, n_seq, n, bos, pool):
    """[BOS?] + R + R with R drawn uniformly from `pool` (distinct ids within R) -> idx [n_seq, (bos) + 2n]."""
    R = np.stack([rng.choice(pool, size=n, replace=False) for _ in range(n_seq)])
    seq = np.concatenate([R, R], axis=1)
    if bos:
        seq = np.concatenate([np.full((n_seq, 1), EOT), seq], axis=1)
    return seq


def induction_scores(params, cfg, idx, n, bos):
    P = patterns(params, cfg, idx)  # [L, B, H, T, T]
    off = 1 if bos else 0
    q = off + n + np.arange(n)  # queries in the second copy
    k = off + np.arange(n) + 1  # the token after the first occurrence
    return P[..., q, k].mean(axis=(1, 3))  # [L, H]


def induction_loss(params, cfg, idx, n, bos):
    """Mean next-token loss (nats) on the first and on the second copy of R: in-context learning at a glance."""
    nll = g.nll_full_vocab(params, cfg, idx[:, :-1], idx[:, 1:])
    off = 1 if bos else 0
    first = nll[:, off : off + n - 1].mean()
    second = nll[:, off + n : off + 2 * n - 1].mean()
    return float(first), float(second)


# --- logit lens and sampling ----------------------------------------------------------------------------------


def logit_lens(params, cfg, ids):
    """For the last position of `ids`: at each depth (embeddings, after block 0, ..., after the last block), apply
    ln_f with statistics recomputed on that residual and unembed. Returns a list of dicts with the top token and
    the rank / probability of the final prediction."""
    _, cache = g.forward(params, cfg, np.array([ids]), capture=True)
    wte = params["wte.weight"]
    rows = []
    for x in cache["resid"]:  # [1, T, D] each
        h, _ = g.layernorm_forward(x[0, -1], params["ln_f.weight"], params["ln_f.bias"], cfg.layer_norm_epsilon)
        z = wte @ h
        p = np.exp(z - z.max())
        p /= p.sum()
        rows.append(p)
    final = int(np.argmax(rows[-1]))
    out = []
    for p in rows:
        top = int(np.argmax(p))
        out.append(
            {
                "top": top,
                "top_p": float(p[top]),
                "final_rank": int((p > p[final]).sum()) + 1,
                "final_p": float(p[final]),
            }
        )
    return final, out


def lens_agreement(params, cfg, idx):
    """Over held-out windows: per depth, the share of positions whose lens top-1 equals the final top-1, and the
    mean KL(final || lens) in nats."""
    _, cache = g.forward(params, cfg, idx, capture=True)
    wte = params["wte.weight"]

    def logp(x):
        h, _ = g.layernorm_forward(x, params["ln_f.weight"], params["ln_f.bias"], cfg.layer_norm_epsilon)
        z = h.reshape(-1, cfg.n_embd) @ wte.T
        z -= z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    final = logp(cache["resid"][-1])
    top_final = final.argmax(-1)
    pf = np.exp(final)
    out = []
    for x in cache["resid"]:
        lp = logp(x)
        out.append(
            {"top1_agree": float((lp.argmax(-1) == top_final).mean()), "kl": float((pf * (final - lp)).sum(-1).mean())}
        )
    return out


def generate(params, cfg, ids, n_new, temperature, rng):
    """Greedy (temperature 0) or sampled continuation; the context is cut to n_positions."""
    ids = list(ids)
    for _ in range(n_new):
        ctx = np.array([ids[-cfg.n_positions :]])
        z = g.logits_full(params, cfg, ctx)[0, -1].astype(np.float64)
        if temperature == 0:
            ids.append(int(np.argmax(z)))
        else:
            p = np.exp((z - z.max()) / temperature)
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return ids


# --- GPT-2 byte-level BPE decoding ---------------------------------------------------------------------------


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Decoder:
    def __init__(self, vocab_json_path):
        with open(vocab_json_path, encoding="utf-8") as f:
            self.token_of = {v: k for k, v in json.load(f).items()}
        self.byte_of = {c: b for b, c in bytes_to_unicode().items()}

    def decode(self, ids):
        return bytes(self.byte_of[c] for i in ids for c in self.token_of[int(i)]).decode("utf-8", errors="replace")
