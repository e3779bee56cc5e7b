// Helpers shared by the dataset builders: a seeded shuffle and the check every example passes.

import { mulberry32 } from '../../src/model/random';
import type { ProbeDataset, ProbeExample } from '../../src/instruments/probe-data';

export { mulberry32 };

/** A seeded Fisher–Yates shuffle (a copy). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** An example whose target is `word`, found at `start` in `text`. */
function exampleAt(text: string, start: number, word: string, label: string): ProbeExample {
  if (text.slice(start, start + word.length) !== word)
    throw new Error(`builder bug: ${JSON.stringify(word)} is not at ${start} in ${JSON.stringify(text)}`);
  return { text, target: [start, start + word.length], label };
}

/** Fills a template's single `{x}` slot and returns the example with the slot as its target. */
export function fillTemplate(
  template: string,
  word: string,
  label: string,
  more: Record<string, string> = {},
) {
  let text = template;
  for (const [k, v] of Object.entries(more)) text = text.replaceAll(`{${k}}`, v);
  const start = text.indexOf('{x}');
  if (start < 0 || text.indexOf('{x}', start + 1) >= 0)
    throw new Error(`template needs one {x}: ${template}`);
  text = text.slice(0, start) + word + text.slice(start + 3);
  return exampleAt(text, start, word, label);
}

/** The dataset with its labels in display order, after checking that every example has one of them. */
export function dataset(
  meta: Omit<ProbeDataset, 'examples' | 'labels'>,
  labels: readonly string[],
  examples: readonly ProbeExample[],
): ProbeDataset {
  for (const e of examples) if (!labels.includes(e.label)) throw new Error(`unknown label ${e.label}`);
  return { ...meta, labels: [...labels], examples: [...examples] };
}

/** The JSON as written to static/datasets/: one example per line, so diffs stay readable. */
export function datasetJson(d: ProbeDataset): string {
  const head = JSON.stringify({ ...d, examples: undefined }, null, 2).replace(/\n}$/, '');
  const lines = d.examples.map((e) => `    ${JSON.stringify(e)}`);
  return `${head},\n  "examples": [\n${lines.join(',\n')}\n  ]\n}\n`;
}
