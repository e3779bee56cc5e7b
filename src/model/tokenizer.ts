// GPT-2's byte-level BPE tokenizer, exactly as OpenAI's encoder.py (and Hugging Face's ByteLevel BPE)
// computes it:
//   1. added tokens are split out: special ones (<|endoftext|>) only when the caller allows them,
//   2. the text is pre-split with GPT-2's regex into words, numbers, punctuation runs and whitespace,
//   3. each piece is UTF-8 encoded; each byte starts as its own token (bytes_to_unicode names them),
//   4. merges are applied by rank: the lowest-ranked adjacent pair first, all its occurrences at once,
//      until no adjacent pair has a rank.
// Pure TypeScript (TextEncoder/TextDecoder are in browsers and Node alike).

import { ModelError } from './errors';
import {
  MAX_ID,
  parseJson,
  parseMergesTxt,
  parseTokenizerJson,
  parseVocab,
  type MergeRule,
  type TokenizerSpec,
} from './tokenizer-files';

/** The tokenizer files as text: `tokenizer.json` alone, or `vocab.json` + `merges.txt`. */
export interface TokenizerFiles {
  tokenizerJson?: string;
  vocabJson?: string;
  mergesTxt?: string;
}

export interface EncodeOptions {
  /** Encode `<|endoftext|>` (and other special tokens) as their id; otherwise they are plain text. */
  allowSpecial?: boolean;
}

const END_OF_TEXT = '<|endoftext|>';

// GPT-2's pre-split regex with one deliberate change: Python's `regex` module (which GPT-2 used) and
// Hugging Face's Oniguruma both read `\s` as Unicode White_Space, while JavaScript's `\s` also
// matches U+FEFF and misses U+0085 (NEL). Spelling `\s` as \p{White_Space} (and `\S` as its negation)
// gives the Python segmentation on every code point.
const PRE_SPLIT =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

// Pre-token → ids. Typing re-encodes the whole prompt on each key; almost every piece is a hit.
// Bounded (least recently used goes first) so a long session cannot grow it without limit; pieces
// longer than CACHEABLE_LENGTH are rare and would only bloat it.
const CACHE_ENTRIES = 20_000;
const CACHEABLE_LENGTH = 256;

const utf8Encoder = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF as text instead of swallowing it as a byte order mark.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const strictUtf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/**
 * GPT-2's bytes_to_unicode: every byte gets a printable character so that vocab.json and merges.txt
 * can be text. Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, 0x7F-0xA0,
 * soft hyphen) take U+0100, U+0101, ... in byte order. Space (0x20) becomes 'Ġ', newline 'Ċ'.
 */
export function bytesToUnicode(): string[] {
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.push(String.fromCharCode(printable ? b : next++));
  }
  return table;
}

const BYTE_TO_CHAR = bytesToUnicode();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

export class Gpt2Tokenizer {
  readonly vocabSize: number;
  readonly endOfTextId: number;

  // Indexed by id; undefined where an id is unused.
  readonly #bytes: (Uint8Array | undefined)[];
  // Special tokens (shown by name, matched only with allowSpecial) and the other added tokens
  // (always matched before pre-splitting, as Hugging Face does). Content → id.
  readonly #special = new Map<string, number>();
  readonly #alwaysAdded = new Map<string, number>();
  readonly #specialIds = new Set<number>();
  readonly #splitAlways: RegExp | null;
  readonly #splitAllowSpecial: RegExp | null;
  // Id of the token for each single byte: where BPE starts.
  readonly #byteIds: number[];
  // Merges, with a pair (left id, right id) keyed as left * 2^24 + right: pair → rank, and by rank
  // the pair and the id of the token it makes.
  readonly #rankOfPair = new Map<number, number>();
  readonly #pairOfRank: number[] = [];
  readonly #mergedId: number[] = [];
  readonly #cache = new Map<string, readonly number[]>();

  private constructor(spec: TokenizerSpec) {
    const { vocab, vocabFile, vocabName, vocabWhere } = spec;
    const addedById = new Map(spec.added.map((t) => [t.id, t]));

    let maxId = -1;
    this.#bytes = [];
    for (const [token, id] of vocab) {
      maxId = Math.max(maxId, id);
      const added = addedById.get(id);
      this.#bytes[id] = added
        ? utf8Encoder.encode(added.content)
        : tokenStringBytes(token, id, vocabFile, vocabWhere);
    }
    for (const t of spec.added) {
      maxId = Math.max(maxId, t.id);
      this.#bytes[t.id] = utf8Encoder.encode(t.content);
      (t.special ? this.#special : this.#alwaysAdded).set(t.content, t.id);
      if (t.special) this.#specialIds.add(t.id);
    }
    this.vocabSize = maxId + 1;

    this.#byteIds = BYTE_TO_CHAR.map((char, byte) => {
      const id = vocab.get(char);
      if (id === undefined) {
        throw new ModelError(
          'missing',
          vocabFile,
          `${vocabWhere}no token for byte 0x${hex(byte)} (${JSON.stringify(char)}); every byte needs one`,
        );
      }
      return id;
    });

    const endOfText = this.#special.get(END_OF_TEXT) ?? vocab.get(END_OF_TEXT);
    if (endOfText === undefined) {
      throw new ModelError('missing', vocabFile, `${vocabWhere}no ${END_OF_TEXT} token`);
    }
    this.endOfTextId = endOfText;
    // vocab.json has no notion of special tokens; GPT-2's one is <|endoftext|>.
    if (!this.#special.has(END_OF_TEXT) && !this.#alwaysAdded.has(END_OF_TEXT)) {
      this.#special.set(END_OF_TEXT, endOfText);
      this.#specialIds.add(endOfText);
    }

    const idOf = (token: string, merge: MergeRule, role: 'uses' | 'makes'): number => {
      const id = vocab.get(token);
      if (id !== undefined) return id;
      const rule = JSON.stringify(`${merge.left} ${merge.right}`);
      throw new ModelError(
        'corrupt',
        spec.mergesFile,
        `${merge.where}: merge ${rule} ${role} ${JSON.stringify(token)}, which is not in ${vocabName}`,
      );
    };
    spec.merges.forEach((merge, rank) => {
      const key = pairKey(idOf(merge.left, merge, 'uses'), idOf(merge.right, merge, 'uses'));
      this.#pairOfRank.push(key);
      this.#mergedId.push(idOf(merge.left + merge.right, merge, 'makes'));
      // A repeated rule takes its last rank, as in encoder.py's dict(zip(bpe_merges, range(...))).
      this.#rankOfPair.set(key, rank);
    });

    this.#splitAlways = alternation([...this.#alwaysAdded.keys()]);
    this.#splitAllowSpecial = alternation([...this.#alwaysAdded.keys(), ...this.#special.keys()]);
  }

  /** tokenizer.json if given, else vocab.json + merges.txt. Bad files throw ModelError. */
  static fromFiles(files: TokenizerFiles): Gpt2Tokenizer {
    if (files.tokenizerJson !== undefined) return new Gpt2Tokenizer(parseTokenizerJson(files.tokenizerJson));
    if (files.vocabJson === undefined) {
      throw new ModelError(
        'missing',
        'vocab.json',
        'needed (with merges.txt) when there is no tokenizer.json',
      );
    }
    if (files.mergesTxt === undefined) {
      throw new ModelError(
        'missing',
        'merges.txt',
        'needed (with vocab.json) when there is no tokenizer.json',
      );
    }
    return new Gpt2Tokenizer({
      vocab: parseVocab(parseJson(files.vocabJson, 'vocab.json'), 'vocab.json', ''),
      vocabFile: 'vocab.json',
      vocabName: 'vocab.json',
      vocabWhere: '',
      merges: parseMergesTxt(files.mergesTxt),
      mergesFile: 'merges.txt',
      added: [],
    });
  }

  /** Token ids of the text. A lone surrogate (invalid UTF-16) is encoded as U+FFFD, as TextEncoder does. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    const split = opts.allowSpecial ? this.#splitAllowSpecial : this.#splitAlways;
    if (split === null) {
      this.#encodeOrdinary(text, ids);
      return ids;
    }
    let start = 0;
    for (const match of text.matchAll(split)) {
      this.#encodeOrdinary(text.slice(start, match.index), ids);
      const id = this.#special.get(match[0]) ?? this.#alwaysAdded.get(match[0]);
      if (id !== undefined) ids.push(id);
      start = match.index + match[0].length;
    }
    this.#encodeOrdinary(text.slice(start), ids);
    return ids;
  }

  /** UTF-8 text of the tokens' bytes; invalid sequences become U+FFFD, like GPT-2's errors='replace'. */
  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => this.#tokenBytes(id));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    return utf8Decoder.decode(all);
  }

  /** The raw bytes of one token (a copy). */
  tokenBytes(id: number): Uint8Array {
    return this.#tokenBytes(id).slice();
  }

  /**
   * What to show for a token: its text; special tokens by name; bytes that are only a piece of a
   * multi-byte character (GPT-2 splits many emoji and CJK characters) as `\xE2\x80`, since decoding
   * them alone would only give U+FFFD.
   */
  tokenLabel(id: number): string {
    const bytes = this.#tokenBytes(id);
    if (this.#specialIds.has(id)) return utf8Decoder.decode(bytes);
    try {
      return strictUtf8Decoder.decode(bytes);
    } catch {
      return readableBytes(bytes);
    }
  }

  #tokenBytes(id: number): Uint8Array {
    const bytes = Number.isInteger(id) ? this.#bytes[id] : undefined;
    if (bytes === undefined) {
      throw new RangeError(`token id ${id} is not in the vocabulary (ids 0..${this.vocabSize - 1})`);
    }
    return bytes;
  }

  #encodeOrdinary(text: string, out: number[]): void {
    for (const match of text.matchAll(PRE_SPLIT)) {
      for (const id of this.#encodePiece(match[0])) out.push(id);
    }
  }

  #encodePiece(piece: string): readonly number[] {
    const cached = this.#cache.get(piece);
    if (cached !== undefined) {
      // Move to the back: Map iterates in insertion order, so the front is least recently used.
      this.#cache.delete(piece);
      this.#cache.set(piece, cached);
      return cached;
    }
    const ids = this.#bpe(utf8Encoder.encode(piece));
    if (piece.length <= CACHEABLE_LENGTH) {
      if (this.#cache.size >= CACHE_ENTRIES) {
        const oldest = this.#cache.keys().next();
        if (!oldest.done) this.#cache.delete(oldest.value);
      }
      this.#cache.set(piece, ids);
    }
    return ids;
  }

  /**
   * BPE over one pre-token's bytes with encoder.py's rule: take the lowest-ranked adjacent pair, merge
   * all its occurrences left to right, repeat. encoder.py rescans the word each round, which is
   * quadratic: 2000 CJK characters without punctuation (one pre-token) took 0.27 s. Here the word is
   * a linked list and the pairs wait in a heap ordered by (rank, position), so it is O(n log n):
   * - a round pops every entry of the lowest rank; position order makes it left to right, and in a
   *   run like "a a a" the first merge consumes the second entry's left token, so it is skipped;
   * - entries whose tokens changed since they were pushed are skipped (checked against the pair);
   * - the pairs a merge creates are pushed only when the round ends: one can never be the round's
   *   own pair (AB differs from A and from B), and with an unusual merges file it could rank lower,
   *   which must wait for the next round as in encoder.py.
   */
  #bpe(bytes: Uint8Array): number[] {
    const n = bytes.length;
    if (n >= POSITION_LIMIT) throw new RangeError(`a single pre-token of ${n} bytes is too long to encode`);
    // ids[i]: the token that starts at byte i, or DEAD once merged into the token on its left.
    const ids = Int32Array.from(bytes, (b) => this.#byteIds[b]!);
    const next = Int32Array.from(bytes, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from(bytes, (_, i) => i - 1);
    const heap = new MinHeap();
    const pushPairAt = (i: number) => {
      const j = next[i]!;
      const rank = j < 0 ? undefined : this.#rankOfPair.get(pairKey(ids[i]!, ids[j]!));
      if (rank !== undefined) heap.push(rank * POSITION_LIMIT + i);
    };
    for (let i = 0; i + 1 < n; i++) pushPairAt(i);

    const mergedAt: number[] = [];
    while (heap.size > 0) {
      const rank = Math.floor(heap.peek() / POSITION_LIMIT);
      const pair = this.#pairOfRank[rank]!;
      const merged = this.#mergedId[rank]!;
      while (heap.size > 0 && Math.floor(heap.peek() / POSITION_LIMIT) === rank) {
        const i = heap.pop() % POSITION_LIMIT;
        const j = next[i]!;
        if (ids[i] === DEAD || j < 0 || pairKey(ids[i]!, ids[j]!) !== pair) continue;
        ids[i] = merged;
        ids[j] = DEAD;
        const after = next[j]!;
        next[i] = after;
        if (after >= 0) prev[after] = i;
        mergedAt.push(i);
      }
      for (const i of mergedAt) {
        if (ids[i] === DEAD) continue;
        pushPairAt(i);
        if (prev[i]! >= 0) pushPairAt(prev[i]!);
      }
      mergedAt.length = 0;
    }

    const word: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) word.push(ids[i]!);
    return word;
  }
}

const DEAD = -1;
// Heap entries pack (rank, position) into one number: rank * 2^28 + position < 2^52 stays exact.
const POSITION_LIMIT = 2 ** 28;

/** A binary min-heap of numbers. */
class MinHeap {
  readonly #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): number {
    return this.#items[0]!;
  }

  push(value: number): void {
    const items = this.#items;
    let i = items.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.#items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      // Sift the last item down from the root.
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= items.length) break;
        if (child + 1 < items.length && items[child + 1]! < items[child]!) child++;
        if (items[child]! >= last) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

function pairKey(left: number, right: number): number {
  return left * (MAX_ID + 1) + right;
}

/** A regex matching any of the strings, longest first so that one that contains another wins. */
function alternation(strings: string[]): RegExp | null {
  if (strings.length === 0) return null;
  const sorted = [...strings].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'), 'gu');
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/** A vocab entry's characters back to bytes through bytes_to_unicode. */
function tokenStringBytes(token: string, id: number, file: string, where: string): Uint8Array {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = CHAR_TO_BYTE.get(token.charAt(i));
    if (byte === undefined) {
      throw new ModelError(
        'corrupt',
        file,
        `${where}token ${JSON.stringify(token)} (id ${id}) has ${JSON.stringify(token.charAt(i))}, which is not in ` +
          `GPT-2's byte alphabet (bytes_to_unicode); this is not a byte-level BPE vocabulary`,
      );
    }
    bytes[i] = byte;
  }
  return bytes;
}

/**
 * Text with each complete, valid UTF-8 character as itself and every other byte as `\xHH`.
 * Validity follows the Unicode table of well-formed sequences (no overlongs, no surrogates, ≤ U+10FFFF).
 */
function readableBytes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const length = validSequenceLength(bytes, i);
    if (length > 0) {
      out += utf8Decoder.decode(bytes.subarray(i, i + length));
      i += length;
    } else {
      out += `\\x${hex(bytes[i]!)}`;
      i++;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence starting at bytes[i], or 0 if there is none. */
function validSequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  const inRange = (k: number, lo: number, hi: number) => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  const tail = (from: number, to: number) => {
    for (let k = from; k <= to; k++) if (!inRange(k, 0x80, 0xbf)) return false;
    return true;
  };
  if (b0 <= 0x7f) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return tail(1, 1) ? 2 : 0;
  // The second byte's range excludes overlongs (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
  if (b0 === 0xe0) return inRange(1, 0xa0, 0xbf) && tail(2, 2) ? 3 : 0;
  if (b0 === 0xed) return inRange(1, 0x80, 0x9f) && tail(2, 2) ? 3 : 0;
  if (b0 >= 0xe1 && b0 <= 0xef) return tail(1, 2) ? 3 : 0;
  if (b0 === 0xf0) return inRange(1, 0x90, 0xbf) && tail(2, 3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return tail(1, 3) ? 4 : 0;
  if (b0 === 0xf4) return inRange(1, 0x80, 0x8f) && tail(2, 3) ? 4 : 0;
  return 0;
}
