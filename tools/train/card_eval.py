"""The numbers of the model card: evaluate the checkpoint read back (held-out loss, head scores, induction,
logit lens, samples) into the dict that card.py writes as eval.json."""

import os
import time

import numpy as np

import analyze as A
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
