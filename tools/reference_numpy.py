#!/usr/bin/env python3
"""An independent GPT-2 forward in numpy (float64), used only to cross-check src/model/reference.ts.

Usage: python3 tools/reference_numpy.py DIR

DIR holds
  config.json   {"n_layer", "n_head", "n_embd", "n_ctx", "vocab_size", "n_inner", "layer_norm_epsilon",
                 "tokens": [ids], "ablate": null | {"heads": [[layer, head], ...], "mlps": [layer, ...],
                 "mode": "zero" | "mean"}, "hooks": false | true}
  NAME.f32      every weight as raw little-endian float32, NAME the Hugging Face name (wte.weight,
                h.0.attn.c_attn.weight, ...), shapes as in the checkpoint (Conv1D weights [in, out]).
and receives, as raw little-endian float64:
  logits.f64 (T, V), pattern.L.f64 (H, T, T), resid_pre.L.f64 (T, D), resid_mid.L.f64 (T, D),
  resid_post.f64 (T, D).
With "hooks": true, also every TransformerLens hook point as hook.NAME.f64 (NAME as in
TransformerLens, e.g. hook.blocks.0.attn.hook_pattern.f64), shapes as TransformerLens's without the
batch dimension, values as HookedTransformer.from_pretrained_no_processing computes them: LayerNorm
hook_scale = sqrt(var + eps) [T, 1] and hook_normalized after the gain and bias; hook_attn_scores
with -inf where masked; with ablation, hook_z and hook_mlp_out are the ablated values. hooks.json
lists [NAME, shape] in the order the forward pass produces them.

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

    manifest = []  # [name, shape] in the order the forward produces them

    def hook(name, a):
        if cfg.get("hooks"):
            out("hook." + name, a)
            manifest.append([name, list(a.shape)])

    def ln(x, prefix, name):
        """TransformerLens's LayerNorm (biased variance), with its two hooks."""
        x = x - x.mean(axis=-1, keepdims=True)
        scale = np.sqrt((x**2).mean(axis=-1, keepdims=True) + eps)  # [T, 1]
        y = x / scale * load(d, prefix + ".weight", (D,)) + load(d, prefix + ".bias", (D,))
        hook(name + ".hook_scale", scale)
        hook(name + ".hook_normalized", y)
        return y

    x = wte[tokens] + wpe[:T]  # [T, D]
    hook("hook_embed", wte[tokens])
    hook("hook_pos_embed", wpe[:T])
    mask = np.triu(np.full((T, T), -np.inf), k=1)  # -inf above the diagonal
    for l in range(L):
        p = "h.%d." % l
        out("resid_pre.%d" % l, x)
        b = "blocks.%d." % l
        hook(b + "hook_resid_pre", x)

        h = ln(x, p + "ln_1", b + "ln1")
        qkv = h @ load(d, p + "attn.c_attn.weight", (D, 3 * D)) + load(d, p + "attn.c_attn.bias", (3 * D,))
        q, k, v = np.split(qkv, 3, axis=-1)  # each (T, D)
        for name, a in (("q", q), ("k", k), ("v", v)):
            hook(b + "attn.hook_" + name, a.reshape(T, H, hd))
        # [T, D] -> [H, T, hd]
        q, k, v = (a.reshape(T, H, hd).transpose(1, 0, 2) for a in (q, k, v))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask  # [H, T, T]
        hook(b + "attn.hook_attn_scores", scores)
        pattern = softmax(scores)
        out("pattern.%d" % l, pattern)
        hook(b + "attn.hook_pattern", pattern)
        z = pattern @ v  # [H, T, hd]
        if ablate:
            for layer, head in ablate["heads"]:
                if layer != l:
                    continue
                if ablate["mode"] == "zero":
                    z[head] = 0.0
                else:
                    z[head] = z[head].mean(axis=0, keepdims=True)
        z = z.transpose(1, 0, 2)  # [T, H, hd]
        hook(b + "attn.hook_z", z)
        z = z.reshape(T, D)
        attn_out = z @ load(d, p + "attn.c_proj.weight", (D, D)) + load(d, p + "attn.c_proj.bias", (D,))
        hook(b + "hook_attn_out", attn_out)
        x = x + attn_out
        out("resid_mid.%d" % l, x)
        hook(b + "hook_resid_mid", x)

        h = ln(x, p + "ln_2", b + "ln2")
        pre = h @ load(d, p + "mlp.c_fc.weight", (D, F)) + load(d, p + "mlp.c_fc.bias", (F,))
        hook(b + "mlp.hook_pre", pre)
        post = gelu_new(pre)
        hook(b + "mlp.hook_post", post)
        mlp_out = post @ load(d, p + "mlp.c_proj.weight", (F, D)) + load(d, p + "mlp.c_proj.bias", (D,))
        if ablate and l in ablate.get("mlps", []):
            if ablate["mode"] == "zero":
                mlp_out = np.zeros_like(mlp_out)
            else:
                mlp_out = np.broadcast_to(mlp_out.mean(axis=0, keepdims=True), mlp_out.shape)
        hook(b + "hook_mlp_out", mlp_out)
        x = x + mlp_out
        hook(b + "hook_resid_post", x)

    out("resid_post", x)
    h = ln(x, "ln_f", "ln_final")
    out("logits", h @ wte.T)
    hook("logits", h @ wte.T)
    if cfg.get("hooks"):
        with open(os.path.join(d, "hooks.json"), "w") as f:
            json.dump(manifest, f)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tools/reference_numpy.py DIR")
    main(sys.argv[1])
