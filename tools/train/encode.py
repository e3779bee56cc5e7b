"""GPT-2 BPE ids for texts, with the gpt-3-encoder npm package (run by node): the tokenizer the studio uses.
Used by card.py for its prompts (a module of its own, so that card.py need not import train.py)."""

import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def encode_texts(texts):
    """GPT-2 BPE ids for each text, with gpt-3-encoder (node)."""
    js = (
        "import {encode} from 'gpt-3-encoder';let s='';process.stdin.on('data',d=>s+=d);"
        "process.stdin.on('end',()=>console.log(JSON.stringify(JSON.parse(s).map(encode))));"
    )
    r = subprocess.run(
        ["node", "--input-type=module", "-e", js],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(r.stdout)
