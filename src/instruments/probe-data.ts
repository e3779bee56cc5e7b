// Labeled examples for linear probes: the datasets shipped in static/datasets/ and the user's own
// (CSV or JSON), validated with errors that say which row and what to fix, and mapped to tokens:
// the probe reads the residual stream at the last token of each example's target word.
// Pure TypeScript (no GPU, no DOM): runs in the browser, in the probe worker and in Node.

/** One labeled example: a text and the word in it whose representation is probed. */
export interface ProbeExample {
  readonly text: string;
  /** [start, end): UTF-16 offsets of the target word in `text`; the probe reads its last token. */
  readonly target: readonly [number, number];
  readonly label: string;
  /**
   * The template instance (sentence, frame) the example comes from: examples of one group are held
   * out together, so a probe cannot learn a sentence in training and meet it again in testing.
   */
  readonly group?: string;
}

/** The file format of static/datasets/*.json (and of a user's JSON file, where most fields are optional). */
export interface ProbeDataset {
  readonly name: string;
  readonly description: string;
  /** The license the examples are shipped under (SPDX id or a short statement). */
  readonly license: string;
  /** Where the examples come from, and how they were built. */
  readonly source: string;
  /** Every label, in display order; each has at least `probeLimits.minPerLabel` examples. */
  readonly labels: readonly string[];
  readonly examples: readonly ProbeExample[];
}

const probeLimits = {
  /** Fewer examples than this cannot say anything about a layer. */
  minExamples: 8,
  /** One to train on and one to hold out. */
  minPerLabel: 2,
  maxExamples: 5000,
  maxLabels: 100,
} as const;

/** The datasets shipped with the app (files in static/datasets/, served at datasets/). */
export const shippedDatasets = [
  {
    id: 'brown-pos',
    file: 'brown-pos.json',
    title: 'Part of speech (Brown corpus)',
    kind: 'lexical / syntactic',
  },
  {
    id: 'vader-sentiment',
    file: 'vader-sentiment.json',
    title: 'Word sentiment (VADER lexicon)',
    kind: 'semantic',
  },
  {
    id: 'entity-types',
    file: 'entity-types.json',
    title: 'Entity type (people, cities, countries, animals, foods)',
    kind: 'semantic',
  },
  {
    id: 'subject-number',
    file: 'subject-number.json',
    title: 'Subject number across an attractor (templates)',
    kind: 'syntactic',
  },
  {
    id: 'subordinate-clause',
    file: 'subordinate-clause.json',
    title: 'Inside a subordinate clause (templates)',
    kind: 'syntactic',
  },
] as const;
export type ShippedDatasetId = (typeof shippedDatasets)[number]['id'];

/** Bad probe data: the message names the file, the row and what is wrong. */
export class ProbeDataError extends Error {
  override name = 'ProbeDataError';
}

// ---------------------------------------------------------------------------------------------
// Target words

// Letters and digits glue; apostrophes and hyphens do not ("cat" is a word of "the cat's toy").
const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);

/** The first whole-word occurrence of `word` in `text` (case-sensitive, then case-insensitive). */
export function findWord(text: string, word: string): [number, number] | undefined {
  const w = word.trim();
  if (w === '') return undefined;
  const lower = text.toLowerCase();
  // The case-insensitive pass only where lowercasing keeps the offsets (it can lengthen a few letters).
  const passes = lower.length === text.length ? [text, lower] : [text];
  for (const [pass, haystack] of passes.entries()) {
    const needle = pass === 0 ? w : w.toLowerCase();
    for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
      const end = i + needle.length;
      // A whole word: no word character glued on either side ("cat" is not found in "cats").
      if (!(isWordChar(w[0]) && isWordChar(text[i - 1])) && !(isWordChar(w.at(-1)) && isWordChar(text[end])))
        return [i, end];
    }
  }
  return undefined;
}

/** The span of the text's last word (trailing punctuation excluded), for examples without a target. */
export function lastWordSpan(text: string): [number, number] | undefined {
  const matches = [...text.matchAll(/[\p{L}\p{N}_]+(?:['’-][\p{L}\p{N}_]+)*/gu)];
  const m = matches.at(-1);
  return m ? [m.index, m.index + m[0].length] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Validation

interface RawExample {
  text: unknown;
  label: unknown;
  target?: unknown;
  group?: unknown;
}

/** Checks and normalizes examples; `where(i)` locates example i in messages ("line 7", "examples[3]"). */
function checkExamples(
  file: string,
  raw: readonly RawExample[],
  where: (i: number) => string,
  declaredLabels: readonly string[] | undefined,
): { labels: string[]; examples: ProbeExample[] } {
  const examples: ProbeExample[] = [];
  raw.forEach((r, i) => {
    const at = `${file}, ${where(i)}`;
    if (typeof r.text !== 'string' || r.text.trim() === '')
      throw new ProbeDataError(`${at}: the text is empty or missing`);
    const label = typeof r.label === 'number' ? String(r.label) : r.label;
    if (typeof label !== 'string' || label.trim() === '')
      throw new ProbeDataError(`${at}: the label is empty or missing`);
    const text = r.text;
    let target: [number, number] | undefined;
    if (r.target === undefined || r.target === null || r.target === '') {
      target = lastWordSpan(text);
      if (!target) throw new ProbeDataError(`${at}: the text has no word to probe`);
    } else if (typeof r.target === 'string') {
      target = findWord(text, r.target);
      if (!target)
        throw new ProbeDataError(
          `${at}: the target word ${JSON.stringify(r.target)} is not in the text ${JSON.stringify(text)}`,
        );
    } else if (
      Array.isArray(r.target) &&
      r.target.length === 2 &&
      r.target.every((x) => Number.isInteger(x))
    ) {
      const [start, end] = r.target as [number, number];
      if (!(start >= 0 && start < end && end <= text.length))
        throw new ProbeDataError(
          `${at}: the target span [${start}, ${end}] is not inside the text (${text.length} characters)`,
        );
      if (text.slice(start, end).trim() !== text.slice(start, end))
        throw new ProbeDataError(
          `${at}: the target span [${start}, ${end}] starts or ends with white space ` +
            `(${JSON.stringify(text.slice(start, end))})`,
        );
      target = [start, end];
    } else {
      throw new ProbeDataError(
        `${at}: the target must be a word of the text or a [start, end] character span, not ${JSON.stringify(r.target)}`,
      );
    }
    const group = typeof r.group === 'number' ? String(r.group) : r.group;
    if (group !== undefined && group !== null && group !== '' && typeof group !== 'string')
      throw new ProbeDataError(`${at}: the group must be a string or a number, not ${JSON.stringify(group)}`);
    examples.push({ text, target, label: label.trim(), ...(group ? { group } : {}) });
  });

  if (examples.length < probeLimits.minExamples)
    throw new ProbeDataError(
      `${file}: ${examples.length} example${examples.length === 1 ? '' : 's'}; a probe needs at least ` +
        `${probeLimits.minExamples} (a few hundred give a clear picture)`,
    );
  if (examples.length > probeLimits.maxExamples)
    throw new ProbeDataError(
      `${file}: ${examples.length} examples; at most ${probeLimits.maxExamples} are probed at once`,
    );
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  let labels: string[];
  if (declaredLabels) {
    labels = [...declaredLabels];
    const declared = new Set(labels);
    const i = examples.findIndex((e) => !declared.has(e.label));
    if (i >= 0)
      throw new ProbeDataError(
        `${file}, ${where(i)}: the label ${JSON.stringify(examples[i]!.label)} is not one of "labels" ` +
          `(${labels.map((l) => JSON.stringify(l)).join(', ')})`,
      );
  } else {
    labels = [...counts.keys()];
  }
  if (labels.length < 2)
    throw new ProbeDataError(
      `${file}: every example has the label ${JSON.stringify(labels[0] ?? '')}; a probe needs at least 2 labels`,
    );
  if (labels.length > probeLimits.maxLabels)
    throw new ProbeDataError(
      `${file}: ${labels.length} labels; at most ${probeLimits.maxLabels} are supported`,
    );
  for (const l of labels) {
    const n = counts.get(l) ?? 0;
    if (n < probeLimits.minPerLabel)
      throw new ProbeDataError(
        `${file}: the label ${JSON.stringify(l)} has ${n} example${n === 1 ? '' : 's'}; each label needs at ` +
          `least ${probeLimits.minPerLabel} (one to train on, one to hold out)`,
      );
  }
  return { labels, examples };
}

const baseName = (file: string) => file.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') || file;

/**
 * A dataset from parsed JSON: the shipped format, or a bare array of examples. Only `examples`
 * (each with text and label) is required; `target` may be a [start, end] span, a word of the text
 * (its first whole-word occurrence) or absent (the text's last word).
 */
export function datasetFromJson(value: unknown, file: string): ProbeDataset {
  const obj: Record<string, unknown> = Array.isArray(value)
    ? { examples: value }
    : value !== null && typeof value === 'object'
      ? (value as Record<string, unknown>)
      : {};
  if (!Array.isArray(obj.examples))
    throw new ProbeDataError(
      `${file}: expected an object with an "examples" array (or an array of {text, label, target} objects)`,
    );
  let declared: string[] | undefined;
  if (obj.labels !== undefined) {
    if (!Array.isArray(obj.labels) || !obj.labels.every((l) => typeof l === 'string' && l.trim() !== ''))
      throw new ProbeDataError(`${file}: "labels" must be an array of non-empty strings`);
    declared = (obj.labels as string[]).map((l) => l.trim());
    const dup = declared.find((l, i) => declared!.indexOf(l) !== i);
    if (dup !== undefined)
      throw new ProbeDataError(`${file}: the label ${JSON.stringify(dup)} is listed twice`);
  }
  const raw = obj.examples.map((e: unknown): RawExample => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return { text: undefined, label: undefined };
    return e as RawExample;
  });
  const { labels, examples } = checkExamples(file, raw, (i) => `examples[${i}]`, declared);
  const str = (key: string, fallback: string) => {
    const v = obj[key];
    return typeof v === 'string' && v.trim() !== '' ? v : fallback;
  };
  return {
    name: str('name', baseName(file)),
    description: str('description', ''),
    license: str('license', 'unknown (your own data)'),
    source: str('source', file),
    labels,
    examples,
  };
}

export function parseDatasetJson(text: string, file: string): ProbeDataset {
  let value: unknown;
  try {
    value = JSON.parse(stripBom(text));
  } catch (e) {
    throw new ProbeDataError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  return datasetFromJson(value, file);
}

// ---------------------------------------------------------------------------------------------
// CSV

const stripBom = (text: string) => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/** RFC 4180 records with the line each starts on: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsvRecords(text: string, file: string): { line: number; fields: string[] }[] {
  const s = stripBom(text);
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    // Blank lines are skipped.
    if (!(fields.length === 1 && fields[0]!.trim() === '')) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' && field.trim() === '') {
      // A quoted field: up to the closing quote, "" is a quote.
      const openedOn = line;
      field = '';
      i++;
      for (;;) {
        if (i >= s.length)
          throw new ProbeDataError(`${file}, line ${openedOn}: a quoted field is not closed (missing ")`);
        const q = s[i]!;
        if (q === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      // Only spaces may follow the closing quote before the separator.
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r')
        throw new ProbeDataError(
          `${file}, line ${line}: unexpected ${JSON.stringify(s[i])} after a closing quote (write "" for a quote inside a quoted field)`,
        );
      continue;
    }
    if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += c;
    }
    i++;
  }
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/** A dataset from CSV with a header row naming the columns text and label, and optionally target. */
export function parseDatasetCsv(text: string, file: string): ProbeDataset {
  const records = parseCsvRecords(text, file);
  const header = records[0];
  if (!header)
    throw new ProbeDataError(`${file} is empty: expected a header row "text,label" (or "text,label,target")`);
  const names = header.fields.map((h) => h.trim().toLowerCase());
  const col = (name: string) => names.indexOf(name);
  const missing = ['text', 'label'].filter((n) => col(n) < 0);
  if (missing.length > 0)
    throw new ProbeDataError(
      `${file}, line ${header.line}: the header has no ${missing.map((m) => `"${m}"`).join(' or ')} column ` +
        `(found ${header.fields.map((h) => JSON.stringify(h)).join(', ')}); expected text,label[,target]`,
    );
  const [ti, li, gi, gr] = [col('text'), col('label'), col('target'), col('group')];
  const rows = records.slice(1);
  const raw = rows.map(({ line, fields }): RawExample => {
    if (fields.length !== names.length)
      throw new ProbeDataError(
        `${file}, line ${line}: ${fields.length} field${fields.length === 1 ? '' : 's'}, the header has ` +
          `${names.length} (quote a text that contains commas: "like, this")`,
      );
    const group = gr >= 0 ? fields[gr]!.trim() : undefined;
    return { text: fields[ti], label: fields[li], target: gi >= 0 ? fields[gi] : undefined, group };
  });
  const { labels, examples } = checkExamples(file, raw, (i) => `line ${rows[i]!.line}`, undefined);
  return {
    name: baseName(file),
    description: '',
    license: 'unknown (your own data)',
    source: file,
    labels,
    examples,
  };
}

/** A user's file: JSON if it is named .json or looks like JSON, else CSV if it is named .csv. */
export function parseDatasetFile(file: string, text: string): ProbeDataset {
  const looksLikeJson = /^\s*[[{]/.test(stripBom(text));
  if (/\.json$/i.test(file) || looksLikeJson) return parseDatasetJson(text, file);
  if (/\.csv$/i.test(file)) return parseDatasetCsv(text, file);
  throw new ProbeDataError(`${file}: expected a .csv (columns text,label[,target]) or a .json file`);
}

// ---------------------------------------------------------------------------------------------
// Tokens

/** What the probe needs from a tokenizer (Gpt2Tokenizer has it). */
export interface ProbeTokenizer {
  encode(text: string): number[];
  tokenBytes(id: number): Uint8Array;
  readonly endOfTextId: number;
}

/** One forward's input and the position whose residual stream the probe reads. */
export interface ProbeInput {
  readonly tokens: readonly number[];
  readonly position: number;
}

const utf8 = new TextEncoder();

/**
 * The tokens of `text` and the index of the token holding the last byte of the target span (with
 * `<|endoftext|>` first when `bos`). GPT-2's tokens carry their leading space (" jury"), so the
 * last token of a word starts at or before the word and ends at its end in ordinary text.
 */
export function locateTarget(
  tokenizer: ProbeTokenizer,
  text: string,
  target: readonly [number, number],
  bos: boolean,
): ProbeInput & { tokenStart: number; tokenEnd: number; targetByteEnd: number } {
  const ids = tokenizer.encode(text);
  const targetByteEnd = utf8.encode(text.slice(0, target[1])).length;
  let start = 0;
  for (const [i, id] of ids.entries()) {
    const end = start + tokenizer.tokenBytes(id).length;
    if (end >= targetByteEnd) {
      const offset = bos ? 1 : 0;
      return {
        tokens: bos ? [tokenizer.endOfTextId, ...ids] : ids,
        position: i + offset,
        tokenStart: start,
        tokenEnd: end,
        targetByteEnd,
      };
    }
    start = end;
  }
  throw new Error(`the tokens of ${JSON.stringify(text)} end before byte ${targetByteEnd}`);
}

/**
 * Every example as tokens and a target position, and its label as an index into `dataset.labels`.
 * Examples with more tokens up to their target than the model's context are left out (`kept`
 * lists the examples used); too few left is an error.
 */
export function prepareProbeInputs(
  dataset: ProbeDataset,
  tokenizer: ProbeTokenizer,
  options: { bos: boolean; nCtx: number },
): {
  inputs: ProbeInput[];
  labels: Int32Array;
  /** Each kept example's group index (an example without a group is a group of its own); undefined when no example names a group. */
  groups: Int32Array | undefined;
  kept: number[];
  skipped: number;
} {
  const index = new Map(dataset.labels.map((l, i) => [l, i]));
  const inputs: ProbeInput[] = [];
  const kept: number[] = [];
  const labelList: number[] = [];
  for (const [i, e] of dataset.examples.entries()) {
    const label = index.get(e.label);
    if (label === undefined)
      throw new ProbeDataError(`${dataset.name}, example ${i + 1}: unknown label ${JSON.stringify(e.label)}`);
    const { tokens, position } = locateTarget(tokenizer, e.text, e.target, options.bos);
    if (position + 1 > options.nCtx) continue;
    // Only the tokens up to the target matter (the model is causal): the rest need not run.
    inputs.push({ tokens: tokens.slice(0, position + 1), position });
    kept.push(i);
    labelList.push(label);
  }
  const skipped = dataset.examples.length - kept.length;
  if (skipped > 0) {
    const counts = dataset.labels.map((_, c) => labelList.filter((l) => l === c).length);
    const short = counts.findIndex((n) => n < probeLimits.minPerLabel);
    if (kept.length < probeLimits.minExamples || short >= 0)
      throw new ProbeDataError(
        `${dataset.name}: ${skipped} of ${dataset.examples.length} examples have more tokens up to their ` +
          `target word than the model's context (${options.nCtx}), and too few are left to probe` +
          (short >= 0 ? ` (the label ${JSON.stringify(dataset.labels[short])} has ${counts[short]})` : '') +
          '; shorten the texts or use a model with a longer context',
      );
  }
  const named = kept.some((i) => dataset.examples[i]!.group !== undefined);
  const ids = new Map<string, number>();
  const groups = named
    ? Int32Array.from(kept, (i) => {
        const g = dataset.examples[i]!.group ?? `\u0000${i}`;
        if (!ids.has(g)) ids.set(g, ids.size);
        return ids.get(g)!;
      })
    : undefined;
  return { inputs, labels: Int32Array.from(labelList), groups, kept, skipped };
}
