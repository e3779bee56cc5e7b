"""Evaluate the saved checkpoint (the F16 file, read back) and write the model card with its numbers and pictures.

Called by train.py after training, or on its own through `python3 tools/train/train.py --eval-only`.
Writes into the model folder: MODEL.md, eval.json (every number of the card), training-log.csv, loss.svg,
heads.svg, induction.svg; and tools/train/heldout_subset.npy (the fixed held-out windows test_checkpoint.py
re-evaluates). The numbers come from card_eval.py, the pictures from card_svg.py, the Markdown from card_md.py.
"""

import json
import os

import numpy as np

import analyze as A
from card_eval import INDUCTION_SEED, evaluate
from card_md import card_text
from card_svg import svg_heads, svg_loss, svg_patterns
from checkpoint import load_model


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
