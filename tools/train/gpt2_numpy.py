"""GPT-2 in numpy: forward pass and hand-written backward pass.

The architecture is exactly GPT-2's (Radford et al. 2019, the Hugging Face `GPT2LMHeadModel`):
  x = wte[idx] + wpe[pos]
  for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
  logits = ln_f(x) @ wte.T                       (tied unembedding, no lm_head)
LayerNorm eps 1e-5, gelu_new (tanh form), causal attention scaled by 1/sqrt(head_dim), learned positions,
Conv1D weights stored [in, out] (y = x @ W + b). Parameters live in a dict keyed by the hub checkpoint names
(`wte.weight`, `h.0.attn.c_attn.weight`, ...), so saving is a plain dump.

Everything works in the dtype of the parameters: float32 for training, float64 for the gradient check.
Shapes in comments: B batch, T time, D n_embd, H heads, hd head_dim, F n_inner, V vocab, N = B*T rows,
C output columns of the loss (all of V, or a subset of wte's rows).
"""

from dataclasses import dataclass, asdict

import numpy as np

GELU_C = float(np.sqrt(2.0 / np.pi))


@dataclass(frozen=True)
class Config:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    n_inner: int = 512
    n_positions: int = 256
    vocab_size: int = 50257
    layer_norm_epsilon: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)


def param_shapes(cfg: Config) -> dict:
    """Hub names -> shapes, in checkpoint order."""
    D, F = cfg.n_embd, cfg.n_inner
    shapes = {"wte.weight": (cfg.vocab_size, D), "wpe.weight": (cfg.n_positions, D)}
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        shapes.update(
            {
                p + "ln_1.weight": (D,),
                p + "ln_1.bias": (D,),
                p + "attn.c_attn.weight": (D, 3 * D),
                p + "attn.c_attn.bias": (3 * D,),
                p + "attn.c_proj.weight": (D, D),
                p + "attn.c_proj.bias": (D,),
                p + "ln_2.weight": (D,),
                p + "ln_2.bias": (D,),
                p + "mlp.c_fc.weight": (D, F),
                p + "mlp.c_fc.bias": (F,),
                p + "mlp.c_proj.weight": (F, D),
                p + "mlp.c_proj.bias": (D,),
            }
        )
    shapes.update({"ln_f.weight": (D,), "ln_f.bias": (D,)})
    return shapes


def init_params(cfg: Config, rng: np.random.Generator, dtype=np.float32, std=0.02) -> dict:
    """GPT-2's initialisation with base std (GPT-2: 0.02): wte and Conv1D weights N(0, std), wpe N(0, std/2),
    residual projections (attn.c_proj, mlp.c_proj) N(0, std/sqrt(2L)), zero biases, LayerNorm gain 1."""
    params = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
            a = np.ones(shape)
        elif name.endswith(".bias"):
            a = np.zeros(shape)
        elif name == "wpe.weight":
            a = rng.normal(0.0, std / 2, shape)
        elif name.endswith("c_proj.weight"):
            a = rng.normal(0.0, std / np.sqrt(2 * cfg.n_layer), shape)
        else:
            a = rng.normal(0.0, std, shape)
        params[name] = a.astype(dtype)
    return params


# ---------------------------------------------------------------------------------------------------------------
# Layers: each forward returns (output, cache); each backward takes the cache and returns input (and param) grads.


def layernorm_forward(x, w, b, eps):
    # x [..., D] -> y [..., D]; statistics over the last axis (biased variance, as torch.nn.LayerNorm)
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)  # [..., 1]
    xhat = xc * rstd
    return xhat * w + b, (xhat, rstd)


def layernorm_backward(dy, cache, w):
    xhat, rstd = cache
    dxhat = dy * w
    dx = rstd * (dxhat - dxhat.mean(-1, keepdims=True) - xhat * (dxhat * xhat).mean(-1, keepdims=True))
    axes = tuple(range(dy.ndim - 1))
    return dx, (dy * xhat).sum(axes), dy.sum(axes)


def gelu_forward(x):
    # gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    t = np.tanh(GELU_C * (x + 0.044715 * x * x * x))
    return 0.5 * x * (1.0 + t), t


def gelu_backward(dy, x, t):
    dudx = GELU_C * (1.0 + 3 * 0.044715 * x * x)
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dudx)


# OpenBLAS runs a GEMM on one thread when M*N*K <= 65536 * 4. The attention products are done in query chunks
# small enough for that: on a shared, busy CPU a two-thread call on a tiny matrix waits for the second thread to
# be scheduled (measured here: 10-50x slower). Chunking also skips the keys a chunk cannot see (causal).
SINGLE_THREAD_MNK = 65536 * 4


def query_chunk(T, hd):
    q = 1
    while 2 * q * T * hd <= SINGLE_THREAD_MNK and 2 * q <= T:
        q *= 2
    return q


def attention_forward(qkv, n_head):
    # qkv [B, T, 3D] = [q | k | v] -> y [B, T, D]; pattern P [B, H, T, T] (query i, key j; 0 where j > i)
    B, T, D3 = qkv.shape
    D = D3 // 3
    hd = D // n_head
    q, k, v = (qkv[:, :, i * D : (i + 1) * D].reshape(B, T, n_head, hd).transpose(0, 2, 1, 3) for i in range(3))
    scale = 1.0 / np.sqrt(hd)
    P = np.zeros((B, n_head, T, T), dtype=qkv.dtype)
    y = np.empty((B, n_head, T, hd), dtype=qkv.dtype)
    Q = query_chunk(T, hd)
    for i0 in range(0, T, Q):
        i1 = min(T, i0 + Q)  # queries i0..i1-1 see keys 0..i1-1
        s = (q[:, :, i0:i1] @ k[:, :, :i1].transpose(0, 1, 3, 2)) * scale  # [B, H, Q, i1]
        causal = np.arange(i1)[None, :] <= np.arange(i0, i1)[:, None]  # [Q, i1]
        s = np.where(causal, s, -np.inf)
        s -= s.max(-1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(-1, keepdims=True)
        P[:, :, i0:i1, :i1] = p
        y[:, :, i0:i1] = p @ v[:, :, :i1]
    y = y.transpose(0, 2, 1, 3).reshape(B, T, D)  # [B, H, T, hd] -> [B, T, D]
    return y, (q, k, v, P)


def attention_backward(dy, cache):
    q, k, v, P = cache  # q, k, v [B, H, T, hd]; P [B, H, T, T]
    B, H, T, hd = q.shape
    dy = dy.reshape(B, T, H, hd).transpose(0, 2, 1, 3)  # [B, H, T, hd]
    scale = 1.0 / np.sqrt(hd)
    dq = np.empty_like(q)
    dk = np.zeros_like(k)
    dv = np.zeros_like(v)
    Q = query_chunk(T, hd)
    for i0 in range(0, T, Q):
        i1 = min(T, i0 + Q)
        p = P[:, :, i0:i1, :i1]  # [B, H, Q, i1]
        dyc = dy[:, :, i0:i1]  # [B, H, Q, hd]
        dp = dyc @ v[:, :, :i1].transpose(0, 1, 3, 2)  # [B, H, Q, i1]
        dv[:, :, :i1] += p.transpose(0, 1, 3, 2) @ dyc
        ds = p * (dp - (dp * p).sum(-1, keepdims=True))  # softmax backward; zero where masked (p = 0)
        ds *= scale
        dq[:, :, i0:i1] = ds @ k[:, :, :i1]
        dk[:, :, :i1] += ds.transpose(0, 1, 3, 2) @ q[:, :, i0:i1]
    merge = lambda a: a.transpose(0, 2, 1, 3).reshape(B, T, H * hd)  # noqa: E731
    return np.concatenate([merge(dq), merge(dk), merge(dv)], axis=-1)  # [B, T, 3D]


def block_forward(params, cfg: Config, i: int, x):
    # x [B, T, D] residual stream in -> out; cache for the backward pass
    p = f"h.{i}."
    eps = cfg.layer_norm_epsilon
    a, ln1 = layernorm_forward(x, params[p + "ln_1.weight"], params[p + "ln_1.bias"], eps)  # [B, T, D]
    qkv = a @ params[p + "attn.c_attn.weight"] + params[p + "attn.c_attn.bias"]  # [B, T, 3D]
    y, att = attention_forward(qkv, cfg.n_head)  # [B, T, D]
    x = x + y @ params[p + "attn.c_proj.weight"] + params[p + "attn.c_proj.bias"]  # resid_mid
    m, ln2 = layernorm_forward(x, params[p + "ln_2.weight"], params[p + "ln_2.bias"], eps)  # [B, T, D]
    f = m @ params[p + "mlp.c_fc.weight"] + params[p + "mlp.c_fc.bias"]  # [B, T, F]
    g, t = gelu_forward(f)  # [B, T, F]
    x = x + g @ params[p + "mlp.c_proj.weight"] + params[p + "mlp.c_proj.bias"]  # resid_post
    return x, (a, ln1, att, y, m, ln2, f, t, g)


def block_backward(params, cfg: Config, i: int, dx, cache, grads):
    # dx [B, T, D] gradient at resid_post -> gradient at resid_pre; parameter grads written into `grads`
    p = f"h.{i}."
    a, ln1, att, y, m, ln2, f, t, g = cache
    D, F = cfg.n_embd, cfg.n_inner
    dx2 = dx.reshape(-1, D)  # [N, D]
    grads[p + "mlp.c_proj.weight"] = g.reshape(-1, F).T @ dx2
    grads[p + "mlp.c_proj.bias"] = dx2.sum(0)
    dg = dx @ params[p + "mlp.c_proj.weight"].T  # [B, T, F]
    df = gelu_backward(dg, f, t)
    grads[p + "mlp.c_fc.weight"] = m.reshape(-1, D).T @ df.reshape(-1, F)
    grads[p + "mlp.c_fc.bias"] = df.reshape(-1, F).sum(0)
    dm = df @ params[p + "mlp.c_fc.weight"].T  # [B, T, D]
    dxm, grads[p + "ln_2.weight"], grads[p + "ln_2.bias"] = layernorm_backward(dm, ln2, params[p + "ln_2.weight"])
    dx = dx + dxm  # gradient at resid_mid
    dx2 = dx.reshape(-1, D)
    grads[p + "attn.c_proj.weight"] = y.reshape(-1, D).T @ dx2
    grads[p + "attn.c_proj.bias"] = dx2.sum(0)
    dy = dx @ params[p + "attn.c_proj.weight"].T  # [B, T, D]
    dqkv = attention_backward(dy, att)  # [B, T, 3D]
    grads[p + "attn.c_attn.weight"] = a.reshape(-1, D).T @ dqkv.reshape(-1, 3 * D)
    grads[p + "attn.c_attn.bias"] = dqkv.reshape(-1, 3 * D).sum(0)
    da = dqkv @ params[p + "attn.c_attn.weight"].T  # [B, T, D]
    dxa, grads[p + "ln_1.weight"], grads[p + "ln_1.bias"] = layernorm_backward(da, ln1, params[p + "ln_1.weight"])
    return dx + dxa


# ---------------------------------------------------------------------------------------------------------------
# The loss head: logits = h @ W.T over C output columns, cross-entropy, and (optionally) its gradient, computed
# chunk by chunk so that a [rows, C] logits block is the largest temporary.


def lm_head_loss(h, W, targets, weights, col_bias=None, need_grad=True, chunk=512):
    """h [N, D] ln_f output; W [C, D] output rows of wte; targets [N] column index in 0..C-1;
    weights [N] per-position loss weights (the loss is sum(weights * nll)); col_bias [C] or None: a constant
    added to each column's logit (used for the sampled tail of the vocabulary, see train.py).
    Returns loss, nll [N], dh [N, D] (or None), dW [C, D] (or None)."""
    N = h.shape[0]
    nll = np.empty(N, dtype=h.dtype)
    dh = np.empty_like(h) if need_grad else None
    dW = np.zeros_like(W) if need_grad else None
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        z = h[s:e] @ W.T  # [n, C] logits
        if col_bias is not None:
            z += col_bias
        z -= z.max(-1, keepdims=True)
        rows = np.arange(e - s)
        zt = z[rows, targets[s:e]]
        np.exp(z, out=z)
        sumexp = z.sum(-1)
        nll[s:e] = np.log(sumexp) - zt
        if need_grad:
            z /= sumexp[:, None]  # softmax probabilities
            z[rows, targets[s:e]] -= 1.0  # d nll / d logits
            z *= weights[s:e, None]
            dh[s:e] = z @ W
            dW += z.T @ h[s:e]
    return float((weights * nll).sum()), nll, dh, dW


# ---------------------------------------------------------------------------------------------------------------
# The whole model.


def forward(params, cfg: Config, idx, capture=False):
    """idx [B, T] token ids -> h [B, T, D] (ln_f output) and the cache for backward.
    capture=True also keeps the residual stream before each block and after the last (for the logit lens)."""
    B, T = idx.shape
    x = params["wte.weight"][idx] + params["wpe.weight"][:T]  # [B, T, D]
    blocks, resid = [], []
    for i in range(cfg.n_layer):
        if capture:
            resid.append(x)
        x, c = block_forward(params, cfg, i, x)
        blocks.append(c)
    if capture:
        resid.append(x)
    h, lnf = layernorm_forward(x, params["ln_f.weight"], params["ln_f.bias"], cfg.layer_norm_epsilon)
    return h, {"idx": idx, "blocks": blocks, "ln_f": lnf, "resid": resid}


def backward(params, cfg: Config, cache, dh, dW_out=None, out_ids=None):
    """dh [B, T, D] gradient at the ln_f output; dW_out [C, D] the loss head's gradient for wte rows out_ids
    (None: all rows). Returns the gradients of every parameter (same names and shapes)."""
    grads = {}
    dx, grads["ln_f.weight"], grads["ln_f.bias"] = layernorm_backward(dh, cache["ln_f"], params["ln_f.weight"])
    for i in reversed(range(cfg.n_layer)):
        dx = block_backward(params, cfg, i, dx, cache["blocks"][i], grads)
    idx = cache["idx"]
    B, T = idx.shape
    grads["wpe.weight"] = np.zeros_like(params["wpe.weight"])
    grads["wpe.weight"][:T] = dx.sum(0)
    dwte = np.zeros_like(params["wte.weight"])
    if dW_out is not None:
        if out_ids is None:
            dwte += dW_out
        else:
            dwte[out_ids] += dW_out  # out_ids are distinct
    np.add.at(dwte, idx.reshape(-1), dx.reshape(-1, cfg.n_embd))  # input side of the tied embedding
    grads["wte.weight"] = dwte
    return grads


def loss_and_grads(params, cfg: Config, idx, targets, weights, out_ids=None, col_bias=None):
    """One training step's loss and gradients.
    idx, targets [B, T]; targets are column indices into out_ids (vocab ids when out_ids is None);
    weights [B, T] loss weight per position (sum 1 for a mean)."""
    h, cache = forward(params, cfg, idx)
    W = params["wte.weight"] if out_ids is None else params["wte.weight"][out_ids]  # [C, D]
    B, T, D = h.shape
    loss, nll, dh, dW = lm_head_loss(h.reshape(-1, D), W, targets.reshape(-1), weights.reshape(-1), col_bias)
    grads = backward(params, cfg, cache, dh.reshape(B, T, D), dW, out_ids)
    return loss, nll.reshape(B, T), grads


def nll_full_vocab(params, cfg: Config, idx, targets):
    """Per-position negative log-likelihood [B, T] (nats) with the softmax over all V tokens: the real model."""
    h, _ = forward(params, cfg, idx)
    B, T, D = h.shape
    w = np.ones(B * T, dtype=h.dtype)
    _, nll, _, _ = lm_head_loss(h.reshape(-1, D), params["wte.weight"], targets.reshape(-1), w, need_grad=False)
    return nll.reshape(B, T)


def logits_full(params, cfg: Config, idx):
    """idx [B, T] -> logits [B, T, V] (for sampling and analysis on short inputs)."""
    h, _ = forward(params, cfg, idx)
    return h @ params["wte.weight"].T
