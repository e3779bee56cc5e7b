# Open a Strata export with numpy alone and print one head's attention pattern.
# usage: python3 python-snippet.py capture.npz|capture.safetensors LAYER HEAD
import json, struct, sys
import numpy as np

def load_export(path):
    """{hook name: array} from an .npz or a .safetensors export."""
    if path.endswith(".npz"):
        with np.load(path) as z:
            return {k: z[k] for k in z.files if k != "__metadata__"}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]  # header length
        header, data = json.loads(f.read(n)), f.read()
    header.pop("__metadata__", None)
    dtypes = {"F32": "<f4", "F16": "<f2"}
    return {k: np.frombuffer(data[t["data_offsets"][0] : t["data_offsets"][1]], dtypes[t["dtype"]]).reshape(t["shape"])
            for k, t in header.items()}

cache = load_export(sys.argv[1])
layer, head = int(sys.argv[2]), int(sys.argv[3])
pattern = cache[f"blocks.{layer}.attn.hook_pattern"][head]  # [query, key]
np.set_printoptions(precision=4, suppress=True, linewidth=200)
print(pattern)
