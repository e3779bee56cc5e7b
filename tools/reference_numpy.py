#!/usr/bin/env python3
"""An independent GPT-2 forward in numpy (float64), used only to cross-check src/model/reference.ts.

Usage: python3 tools/reference_numpy.py DIR

DIR holds
  config.json   {"n_layer", "n_head", "n_embd", "n_ctx", "vocab_size", "n_inner", "layer_norm_epsilon",
                 "tokens": [ids], "ablate": null | {"heads": [[layer, head], ...], "mode": "zero" | "mean"}}
  NAME.f32      every weight as raw little-endian float32, NAME the Hugging Face name (wte.weight,
                h.0.attn.c_attn.weight, ...), shapes as in the checkpoint (Conv1D weights [in, out]).
and receives, as raw little-endian float64:
  logits.f64 (T, V), pattern.L.f64 (H, T, T), resid_pre.L.f64 (T, D), resid_mid.L.f64 (T, D),
  resid_post.f64 (T, D).

Written from the GPT-2 definition (pre-LayerNorm blocks, gelu_new, tied unembedding), in the
vectorised numpy style of picoGPT, not translated from the TypeScript loops.
"""

import json
import os
import sys

import numpy as np


def load(d, name, shape):
    a = np.fromfile(os.path.join(d, name + ".f32"), dtype="<f4").astype(np.float64)
    return a.reshape(shape)


def layer_norm(x, w, b, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # biased
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def main(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    L, H, D = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    N, V, F = cfg["n_ctx"], cfg["vocab_size"], cfg["n_inner"]
    eps = cfg["layer_norm_epsilon"]
    tokens = np.array(cfg["tokens"], dtype=np.int64)
    ablate = cfg.get("ablate")
    hd = D // H
    T = len(tokens)

    wte = load(d, "wte.weight", (V, D))
    wpe = load(d, "wpe.weight", (N, D))

    def out(name, a):
        np.ascontiguousarray(a, dtype="<f8").tofile(os.path.join(d, name + ".f64"))

    x = wte[tokens] + wpe[:T]  # [T, D]
    mask = np.triu(np.full((T, T), -np.inf), k=1)  # -inf above the diagonal
    for l in range(L):
        p = "h.%d." % l
        out("resid_pre.%d" % l, x)

        h = layer_norm(x, load(d, p + "ln_1.weight", (D,)), load(d, p + "ln_1.bias", (D,)), eps)
        qkv = h @ load(d, p + "attn.c_attn.weight", (D, 3 * D)) + load(d, p + "attn.c_attn.bias", (3 * D,))
        q, k, v = np.split(qkv, 3, axis=-1)  # each [T, D]
        # [T, D] -> [H, T, hd]
        q, k, v = (a.reshape(T, H, hd).transpose(1, 0, 2) for a in (q, k, v))
        pattern = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask)  # [H, T, T]
        out("pattern.%d" % l, pattern)
        z = pattern @ v  # [H, T, hd]
        if ablate:
            for layer, head in ablate["heads"]:
                if layer != l:
                    continue
                if ablate["mode"] == "zero":
                    z[head] = 0.0
                else:
                    z[head] = z[head].mean(axis=0, keepdims=True)
        z = z.transpose(1, 0, 2).reshape(T, D)
        x = x + z @ load(d, p + "attn.c_proj.weight", (D, D)) + load(d, p + "attn.c_proj.bias", (D,))
        out("resid_mid.%d" % l, x)

        h = layer_norm(x, load(d, p + "ln_2.weight", (D,)), load(d, p + "ln_2.bias", (D,)), eps)
        h = gelu_new(h @ load(d, p + "mlp.c_fc.weight", (D, F)) + load(d, p + "mlp.c_fc.bias", (F,)))
        x = x + h @ load(d, p + "mlp.c_proj.weight", (F, D)) + load(d, p + "mlp.c_proj.bias", (D,))

    out("resid_post", x)
    h = layer_norm(x, load(d, "ln_f.weight", (D,)), load(d, "ln_f.bias", (D,)), eps)
    out("logits", h @ wte.T)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tools/reference_numpy.py DIR")
    main(sys.argv[1])
