"""Reading and writing the bundled model in the Hugging Face hub layout: model.safetensors (F16) + config.json.

safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]},
"__metadata__": {"format": "pt"}} padded with spaces to a multiple of 8, then the raw little-endian tensor data
(offsets relative to the end of the header).
"""

import json
import struct

import numpy as np

from gpt2_numpy import Config, param_shapes

DTYPES = {"F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "BF16": None}


def save_safetensors(path, params: dict, cfg: Config) -> None:
    """Writes every parameter as F16, in checkpoint order (wte, wpe, h.0..., ln_f)."""
    header, blobs, offset = {}, [], 0
    for name, shape in param_shapes(cfg).items():
        a = np.ascontiguousarray(params[name], dtype="<f2")
        assert a.shape == shape, (name, a.shape, shape)
        assert np.isfinite(a).all(), f"{name} overflows float16"
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path, dtype=np.float32) -> dict:
    """name -> array (converted to `dtype`). Accepts F16 and F32 tensors; skips __metadata__."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        out[name] = (
            np.frombuffer(data, dtype=dt, count=(e - b) // dt.itemsize, offset=base + b)
            .reshape(info["shape"])
            .astype(dtype)
        )
    return out


def hub_config(cfg: Config) -> dict:
    """config.json as the hub writes it for GPT2LMHeadModel (dropout 0: the model was trained without it)."""
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "activation_function": "gelu_new",
        "attn_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "resid_pdrop": 0.0,
        "bos_token_id": 50256,
        "eos_token_id": 50256,
        "initializer_range": 0.02,
        "layer_norm_epsilon": cfg.layer_norm_epsilon,
        "n_ctx": cfg.n_positions,
        "n_embd": cfg.n_embd,
        "n_head": cfg.n_head,
        "n_inner": cfg.n_inner,
        "n_layer": cfg.n_layer,
        "n_positions": cfg.n_positions,
        "reorder_and_upcast_attn": False,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "torch_dtype": "float16",
        "use_cache": True,
        "vocab_size": cfg.vocab_size,
    }


def config_from_hub(d: dict) -> Config:
    return Config(
        n_layer=d["n_layer"],
        n_head=d["n_head"],
        n_embd=d["n_embd"],
        n_inner=d["n_inner"] or 4 * d["n_embd"],
        n_positions=d["n_positions"],
        vocab_size=d["vocab_size"],
        layer_norm_epsilon=d["layer_norm_epsilon"],
    )


def load_model(folder, dtype=np.float32):
    """(params, cfg) from a folder holding config.json and model.safetensors."""
    with open(f"{folder}/config.json") as f:
        cfg = config_from_hub(json.load(f))
    params = load_safetensors(f"{folder}/model.safetensors", dtype)
    assert set(params) == set(param_shapes(cfg)), "checkpoint names differ from the GPT-2 layout"
    return params, cfg
