#!/usr/bin/env python3
"""An independent reader of Strata's exports, with numpy and the standard library alone.

Usage: python3 test/support/read_export.py FILE OUTDIR

FILE is a .safetensors or an .npz export. The safetensors header is parsed with struct and json
(Debian 12 has no safetensors package) and checked against the format's rules; the npz is read with
numpy.load, its zip members checked (STORED, .npy, CRC-32). Writes to OUTDIR
  manifest.json  {"format", "names": [in file order], "shapes": {name: shape}, "dtypes": {name: "<f4"},
                  "metadata": {key: string}, "header_length": N (safetensors)}
  NAME.f64       each tensor's values as little-endian float64
and exits 1 with a message on the first rule broken.
"""

import json
import os
import struct
import sys
import zipfile

import numpy as np

SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def fail(message):
    sys.exit("read_export: " + message)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        fail("duplicate keys in the header: %r" % keys)
    return dict(pairs)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 != 0:
        fail("header length %d is not a multiple of 8" % n)
    if 8 + n > len(raw):
        fail("header length %d runs past the end of the file (%d bytes)" % (n, len(raw)))
    text = raw[8 : 8 + n].decode("utf-8")
    if not text.startswith("{"):
        fail("the header does not start with '{'")
    header, end = json.JSONDecoder(object_pairs_hook=no_duplicates).raw_decode(text)
    if text[end:].strip(" ") != "":
        fail("the header's padding is not spaces: %r" % text[end:])
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        fail("__metadata__ is not a map of strings to strings: %r" % (metadata,))
    data = raw[8 + n :]
    entries = []
    for name, t in header.items():
        if not isinstance(t, dict) or set(t) != {"dtype", "shape", "data_offsets"}:
            fail("%s: entry %r needs exactly dtype, shape and data_offsets" % (name, t))
        if t["dtype"] not in SAFETENSORS_DTYPES:
            fail("%s: unknown dtype %r" % (name, t["dtype"]))
        shape = t["shape"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            fail("%s: shape %r is not a list of sizes" % (name, shape))
        begin, stop = t["data_offsets"]
        itemsize = np.dtype(SAFETENSORS_DTYPES[t["dtype"]]).itemsize
        if not (0 <= begin <= stop) or stop - begin != int(np.prod(shape, dtype=np.int64)) * itemsize:
            fail("%s: data_offsets %r do not hold shape %r of %s" % (name, [begin, stop], shape, t["dtype"]))
        entries.append((begin, stop, name, t))
    entries.sort()
    at = 0
    for begin, stop, name, _ in entries:
        if begin != at:
            fail("%s starts at %d, not at %d: a gap or an overlap" % (name, begin, at))
        at = stop
    if at != len(data):
        fail("the tensors end at %d but the data section has %d bytes" % (at, len(data)))
    arrays = {}
    for begin, stop, name, t in entries:
        dtype = SAFETENSORS_DTYPES[t["dtype"]]
        arrays[name] = np.frombuffer(data[begin:stop], dtype=dtype).reshape(t["shape"])
    return arrays, metadata, {"header_length": n}


def read_npz(path):
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                fail("%s is compressed (method %d), not STORED" % (info.filename, info.compress_type))
            if not info.filename.endswith(".npy"):
                fail("%s is not an .npy member" % info.filename)
        bad = z.testzip()
        if bad is not None:
            fail("CRC-32 of %s does not match" % bad)
    arrays = {}
    metadata = {}
    with np.load(path) as npz:  # allow_pickle=False: plain arrays only
        for name in npz.files:
            a = npz[name]
            if name == "__metadata__":
                if a.shape != () or a.dtype.kind != "U":
                    fail("__metadata__ is %s %s, not a 0-d unicode array" % (a.dtype, a.shape))
                metadata = json.loads(str(a))
                if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
                    fail("__metadata__ holds values that are not strings: %r" % metadata)
            else:
                arrays[name] = a
    return arrays, metadata, {}


def main(path, out):
    fmt = "npz" if path.endswith(".npz") else "safetensors"
    arrays, metadata, extra = (read_npz if fmt == "npz" else read_safetensors)(path)
    manifest = {
        "format": fmt,
        "names": list(arrays),
        "shapes": {k: list(a.shape) for k, a in arrays.items()},
        "dtypes": {k: a.dtype.str for k, a in arrays.items()},
        "metadata": metadata,
    }
    manifest.update(extra)
    for name, a in arrays.items():
        np.ascontiguousarray(a, dtype="<f8").tofile(os.path.join(out, name + ".f64"))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python3 test/support/read_export.py FILE OUTDIR")
    main(sys.argv[1], sys.argv[2])
