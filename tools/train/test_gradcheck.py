"""Gradient check: the hand-written backward of gpt2_numpy against central finite differences.

A tiny GPT-2 (2 layers, 2 heads, n_embd 8, vocab 13, context 6) in float64. For every parameter tensor, every
entry is perturbed by +-1e-6 and the loss difference compared with the analytic gradient. Tolerance: the
relative error max|g_analytic - g_numeric| / max(max|g_numeric|, 1e-8) must be below 1e-5 for each tensor (a
correct backward gives ~1e-9 here; a wrong formula gives O(1)). The check runs both loss heads used in
training: the full-vocabulary softmax, and the vocabulary subset with a sampled, biased tail and a position
mask. The last test breaks one backward formula on purpose and asserts that the check notices.

Run: python3 -m unittest discover -s tools/train -p 'test_*.py'
"""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_numpy as g  # noqa: E402

TOL = 1e-5
EPS = 1e-6
CFG = g.Config(n_layer=2, n_head=2, n_embd=8, n_inner=12, n_positions=6, vocab_size=13)


def make_case(seed=0):
    rng = np.random.default_rng(seed)
    params = g.init_params(CFG, rng, dtype=np.float64)
    # Move everything off its init (non-unit LayerNorm gains, non-zero biases, larger weights) so that every
    # term of every formula matters.
    for k in params:
        params[k] = params[k] + rng.normal(0, 0.3, params[k].shape)
    idx = rng.integers(0, CFG.vocab_size, (2, 5))  # [B, T] (T < n_positions: wpe rows past T get zero grad)
    nxt = rng.integers(0, CFG.vocab_size, (2, 5))
    return params, idx, nxt


def check_all(params, idx, loss_fn):
    """Returns {name: relative error} over every parameter tensor."""
    _, grads = loss_fn(params, idx)
    errors = {}
    for name, p in params.items():
        num = np.zeros_like(p)
        flat, nflat = p.reshape(-1), num.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + EPS
            lp, _ = loss_fn(params, idx, need_grad=False)
            flat[j] = old - EPS
            lm, _ = loss_fn(params, idx, need_grad=False)
            flat[j] = old
            nflat[j] = (lp - lm) / (2 * EPS)
        errors[name] = float(np.abs(grads[name] - num).max() / max(np.abs(num).max(), 1e-8))
    return errors


def full_vocab_loss(nxt):
    w = np.full(nxt.shape, 1.0 / nxt.size)

    def fn(params, idx, need_grad=True):
        if not need_grad:
            h, _ = g.forward(params, CFG, idx)
            loss, _, _, _ = g.lm_head_loss(
                h.reshape(-1, CFG.n_embd), params["wte.weight"], nxt.reshape(-1), w.reshape(-1), need_grad=False
            )
            return loss, None
        loss, _, grads = g.loss_and_grads(params, CFG, idx, nxt, w)
        return loss, grads

    return fn


def subset_loss(nxt, rng):
    # Output columns: a subset of the vocabulary (in a shuffled order) plus a "tail" with a logit bias;
    # targets outside the subset are masked out, as in train.py.
    out_ids = rng.permutation(CFG.vocab_size)[:9]
    col_bias = np.where(np.arange(9) >= 7, np.log(3.0), 0.0)
    col_of = {int(v): c for c, v in enumerate(out_ids)}
    targets = np.array([[col_of.get(int(t), 0) for t in row] for row in nxt])
    mask = np.array([[int(t) in col_of for t in row] for row in nxt], dtype=np.float64)
    mask[0, 1] = 0.0
    w = mask / mask.sum()

    def fn(params, idx, need_grad=True):
        h, cache = g.forward(params, CFG, idx)
        W = params["wte.weight"][out_ids]
        loss, _, dh, dW = g.lm_head_loss(
            h.reshape(-1, CFG.n_embd), W, targets.reshape(-1), w.reshape(-1), col_bias, need_grad=need_grad
        )
        if not need_grad:
            return loss, None
        return loss, g.backward(params, CFG, cache, dh.reshape(h.shape), dW, out_ids)

    return fn


class GradCheck(unittest.TestCase):
    def assert_small(self, errors):
        bad = {k: v for k, v in errors.items() if not v < TOL}
        self.assertEqual(bad, {}, f"backward disagrees with finite differences (tolerance {TOL})")

    def test_every_parameter_full_vocab_softmax(self):
        params, idx, nxt = make_case(0)
        errors = check_all(params, idx, full_vocab_loss(nxt))
        self.assertEqual(set(errors), set(g.param_shapes(CFG)))  # every parameter group is covered
        self.assert_small(errors)

    def test_every_parameter_subset_softmax_with_mask(self):
        params, idx, nxt = make_case(1)
        self.assert_small(check_all(params, idx, subset_loss(nxt, np.random.default_rng(1))))

    def test_a_wrong_formula_is_caught(self):
        params, idx, nxt = make_case(2)
        right = g.gelu_backward
        try:
            # A plausible mistake: d tanh(u)/du taken as 1 - t instead of 1 - t^2.
            g.gelu_backward = lambda dy, x, t: dy * (
                0.5 * (1 + t) + 0.5 * x * (1 - t) * g.GELU_C * (1 + 3 * 0.044715 * x * x)
            )
            errors = check_all(params, idx, full_vocab_loss(nxt))
        finally:
            g.gelu_backward = right
        self.assertGreater(errors["h.0.mlp.c_fc.weight"], 100 * TOL)
        self.assertGreater(errors["h.1.attn.c_attn.weight"], 100 * TOL)

    def test_layers_match_closed_forms(self):
        # gelu_new against its definition; LayerNorm output has mean 0 and variance 1 before the affine map.
        x = np.linspace(-4, 4, 9)
        y, _ = g.gelu_forward(x)
        ref = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
        np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
        z, _ = g.layernorm_forward(np.random.default_rng(0).normal(3, 2, (4, 16)), 1.0, 0.0, 1e-5)
        np.testing.assert_allclose(z.mean(-1), 0, atol=1e-12)
        np.testing.assert_allclose(z.var(-1), 1, rtol=1e-5)


if __name__ == "__main__":
    unittest.main()
