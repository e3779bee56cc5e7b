#!/usr/bin/env python3
"""How far f16 arithmetic in the matmuls would move GPT-2's logits, against the engine tests'
tolerance of 1e-4 x max |logit| (why the engine keeps f32 arithmetic with f16 weights).

Usage: python3 tools/f16_error.py static/models/gpt2-brown-mini

The checkpoint's weights as stored; an f32 forward against the same forward with every matmul's
inputs rounded to f16 (f16 products, f32 accumulation: 'f16mul') and with f16 accumulation too
('f16acc'), on random token ids at T = 16, 64 and 256.
"""
import json
import struct
import sys

import numpy as np

path = sys.argv[1]
raw = open(path + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8 : 8 + n])
W = {}
for k, v in hdr.items():
    if k == "__metadata__":
        continue
    a, b = v["data_offsets"]
    dt = {"F16": np.float16, "F32": np.float32}[v["dtype"]]
    W[k.replace("transformer.", "")] = (
        np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=dt).reshape(v["shape"]).astype(np.float32)
    )
cfg = json.load(open(path + "/config.json"))
L, H, D = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
rng = np.random.default_rng(0)


def mm(x, w, mode):
    if mode == "f32":
        return x @ w
    if mode == "f16mul":
        return x.astype(np.float16).astype(np.float32) @ w.astype(np.float16).astype(np.float32)
    return (x.astype(np.float16) @ w.astype(np.float16)).astype(np.float32)  # f16 accumulate (numpy: f16 matmul)


def ln(x, g, b):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-5) * g + b


def gelu(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def forward(tok, mode):
    T = len(tok)
    x = W["wte.weight"][tok] + W["wpe.weight"][:T]
    hd = D // H
    for l in range(L):
        p = f"h.{l}."
        a = ln(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"])
        qkv = mm(a, W[p + "attn.c_attn.weight"], mode) + W[p + "attn.c_attn.bias"]
        q, k, v = np.split(qkv, 3, -1)
        q = q.reshape(T, H, hd).transpose(1, 0, 2)
        k = k.reshape(T, H, hd).transpose(1, 0, 2)
        v = v.reshape(T, H, hd).transpose(1, 0, 2)
        s = np.einsum("htd,hsd->hts", q, k) / np.sqrt(hd)
        s = s + np.triu(np.full((T, T), -1e30), 1)
        e = np.exp(s - s.max(-1, keepdims=True))
        pat = e / e.sum(-1, keepdims=True)
        z = np.einsum("hts,hsd->htd", pat, v).transpose(1, 0, 2).reshape(T, D)
        x = x + mm(z, W[p + "attn.c_proj.weight"], mode) + W[p + "attn.c_proj.bias"]
        m = ln(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"])
        h = gelu(mm(m, W[p + "mlp.c_fc.weight"], mode) + W[p + "mlp.c_fc.bias"])
        x = x + mm(h, W[p + "mlp.c_proj.weight"], mode) + W[p + "mlp.c_proj.bias"]
    f = ln(x, W["ln_f.weight"], W["ln_f.bias"])
    return mm(f, W["wte.weight"].T, mode)


for T in (16, 64, 256):
    tok = rng.integers(0, cfg["vocab_size"], T)
    ref = forward(tok, "f32")
    scale = np.abs(ref).max()
    for mode in ("f16mul", "f16acc"):
        got = forward(tok, mode)
        err = np.abs(got - ref).max()
        agree = np.mean(got.argmax(-1) == ref.argmax(-1))
        print(
            f"T={T} {mode}: max|dlogit| {err:.3g} = {err / scale:.2e} x max|logit| "
            f"(tolerance 1e-4); top-1 agree {agree:.3f}"
        )
