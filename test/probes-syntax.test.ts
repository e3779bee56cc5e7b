// The syntax probes: the first-90% readable depth on constructed curves, the split by group, the
// runs shared by examples of one sentence, the shipped subject-number and subordinate-clause
// datasets checked by construction with the real GPT-2 tokenizer (the probed token is the one the
// label speaks of, the classes balance, no group straddles the split), and the pipeline on the
// bundled model: rows captured on the WGSL engine equal the CPU reference forward's within
// 1e-4 × max |value|, and probes fitted on both give the same accuracies.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { filesFromDirectory } from '../src/cli/node-source';
import { captureProbeFeatures, sharedRuns } from '../src/instruments/probe-capture';
import {
  locateTarget,
  parseDatasetCsv,
  parseDatasetJson,
  prepareProbeInputs,
  type ProbeDataset,
} from '../src/instruments/probe-data';
import { fitProbes } from '../src/instruments/probe-fit';
import { readableDepth } from '../src/instruments/probe-readable';
import { groupedSplit } from '../src/instruments/probe-split';
import { openModel } from '../src/model/load';
import { referenceForward } from '../src/model/reference';
import { loadEngine, useGpu } from './support/tiny-engine';
import { attractors, subjects } from '../tools/datasets/subject-number';
import { gpt2Tokenizer } from './support/tiny-models';

const tokenizer = gpt2Tokenizer();
const load = (id: string) =>
  parseDatasetJson(readFileSync(`static/datasets/${id}.json`, 'utf8'), `${id}.json`);
const byGroup = (d: ProbeDataset) => {
  const groups = new Map<string, (typeof d.examples)[number][]>();
  for (const e of d.examples) groups.set(e.group!, [...(groups.get(e.group!) ?? []), e]);
  return [...groups.values()];
};
const decode = (id: number) => tokenizer.decode([id]);

describe('the first depth reaching 90% of the best gain over the baseline', () => {
  test('constructed curves', () => {
    // Best 0.95, gain 0.45: the bar is 0.5 + 0.405 = 0.905; 0.9 misses it.
    expect(readableDepth([0.5, 0.6, 0.9, 0.95, 0.94], 0.5)).toEqual({
      depth: 3,
      accuracy: 0.95,
      best: { depth: 3, accuracy: 0.95 },
      baseline: 0.5,
    });
    // Exactly at the bar (0.5 + 0.9 · 0.5 = 0.95) counts.
    expect(readableDepth([0.5, 0.95, 1], 0.5)?.depth).toBe(1);
    expect(readableDepth([0.5, 0.9499, 1], 0.5)?.depth).toBe(2);
    // The first depth that reaches it, even when the curve dips later.
    expect(readableDepth([0.5, 0.92, 0.6, 0.95], 0.5)?.depth).toBe(1);
    // Already at the embeddings.
    expect(readableDepth([0.8, 0.7, 0.6], 0.25)).toMatchObject({ depth: 0, best: { depth: 0 } });
    // Ties for the best: the first.
    expect(readableDepth([0.4, 0.7, 0.7], 0.2)).toMatchObject({ depth: 1, best: { depth: 1 } });
    // Missing and NaN depths are skipped.
    expect(readableDepth([undefined, 0.78, NaN, 0.8], 0.5)?.depth).toBe(1);
    // Nothing above the baseline: nothing is readable.
    expect(readableDepth([0.5, 0.5, 0.5], 0.5)).toBeUndefined();
    expect(readableDepth([0.3, 0.4], 0.5)).toBeUndefined();
    expect(readableDepth([], 0.5)).toBeUndefined();
    expect(readableDepth([0.6], NaN)).toBeUndefined();
    // Another share.
    expect(readableDepth([0.5, 0.7, 0.9], 0.5, 0.5)?.depth).toBe(1);
    expect(() => readableDepth([0.5], 0.5, 0)).toThrow('the share must be in (0, 1], not 0');
  });
});

describe('split by group', () => {
  // 10 groups of 4 (2 of each label), and 2 groups of 1.
  const labels = Int32Array.from([...Array.from({ length: 40 }, (_, i) => (i >> 1) % 2), 0, 1]);
  const groups = Int32Array.from([...Array.from({ length: 40 }, (_, i) => i >> 2), 10, 11]);

  test('whole groups on each side: round((1 − f)·G) held out, disjoint, complete, sorted, seeded', () => {
    const s = groupedSplit(labels, 2, groups, 0.75, 7);
    expect(s.groups).toEqual({ train: 9, heldOut: 3 });
    const side = (rows: Int32Array) => new Set([...rows].map((i) => groups[i]));
    const [train, held] = [side(s.train), side(s.heldOut)];
    expect([...held].filter((g) => train.has(g))).toEqual([]);
    expect(train.size + held.size).toBe(12);
    expect([...s.train, ...s.heldOut].sort((a, b) => a - b)).toEqual([...labels.keys()]);
    expect([...s.heldOut]).toEqual([...s.heldOut].sort((a, b) => a - b));
    expect(groupedSplit(labels, 2, groups, 0.75, 7)).toEqual(s);
    const others = [1, 2, 3].map((seed) => groupedSplit(labels, 2, groups, 0.75, seed).heldOut.join());
    expect(others.some((h) => h !== s.heldOut.join())).toBe(true);
  });

  test('errors', () => {
    expect(() => groupedSplit(labels, 2, groups.subarray(1), 0.75, 0)).toThrow('41 groups for 42 examples');
    expect(() => groupedSplit([0, 1], 2, [5, 5], 0.75, 0)).toThrow(/all 2 examples are in one group/);
    expect(() => groupedSplit([0, 1], 2, [0, 1], 1, 0)).toThrow(/between 0 and 1/);
    // Each label in one group of its own: holding either out leaves it no training example.
    const fails = [0, 1, 2, 3, 4, 5].filter((seed) => {
      try {
        groupedSplit([0, 0, 1], 2, [0, 0, 1], 0.5, seed);
        return false;
      } catch (e) {
        expect((e as Error).message).toMatch(/^label [01] has no training example with this split/);
        return true;
      }
    });
    expect(fails.length).toBeGreaterThan(0);
  });

  test('groups from JSON and CSV; fitProbes holds out whole groups and says how many', () => {
    const csv = parseDatasetCsv(
      'text,label,group\n' +
        Array.from({ length: 12 }, (_, i) => `word ${i} here,${i % 2},s${i >> 2}`).join('\n'),
      'g.csv',
    );
    expect(csv.examples.map((e) => e.group)).toEqual([...'000011112222'].map((g) => `s${g}`));
    const json = parseDatasetJson(
      JSON.stringify({
        examples: csv.examples.map((e, i) => ({ ...e, group: i < 10 ? i >> 2 : undefined })),
      }),
      'g.json',
    );
    expect(json.examples.map((e) => e.group ?? null)).toEqual([
      ...['0', '0', '0', '0', '1', '1', '1', '1', '2', '2'],
      null,
      null,
    ]);
    expect(() =>
      parseDatasetJson(
        JSON.stringify({ examples: [...csv.examples, { text: 'a b', label: '0', group: [1] }] }),
        'g.json',
      ),
    ).toThrow('g.json, examples[12]: the group must be a string or a number, not [1]');
    // Examples without a group are groups of their own.
    const prepared = prepareProbeInputs(json, tokenizer, { bos: true, nCtx: 64 });
    expect([...prepared.groups!]).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 4]);
    expect(prepareProbeInputs(load('brown-pos'), tokenizer, { bos: true, nCtx: 256 }).groups).toBeUndefined();

    const N = 40;
    const data = Float32Array.from({ length: N * 3 }, (_, i) => ((i * 7919) % 13) - 6);
    const r = fitProbes({ data, points: 1, examples: N, width: 3 }, labels.subarray(0, N), 2, {
      groups: groups.subarray(0, N),
    });
    // round(0.25 · 10) = 3 groups of 4 held out.
    expect(r.groups).toEqual({ train: 7, heldOut: 3 });
    expect(r.heldOutCount).toBe(12);
    expect(
      fitProbes({ data, points: 1, examples: N, width: 3 }, labels.subarray(0, N), 2).groups,
    ).toBeUndefined();
  });
});

test('sharedRuns: one forward for the examples whose tokens up to their position are a prefix of it', () => {
  const runs = sharedRuns([
    { tokens: [1, 2, 3], position: 1 },
    { tokens: [1, 2, 3, 4], position: 3 },
    { tokens: [1, 9], position: 1 },
    { tokens: [1, 2, 3, 4, 5], position: 2 },
    { tokens: [1, 9], position: 1 },
  ]);
  expect(runs).toEqual([
    {
      tokens: [1, 2, 3, 4],
      reads: [
        { example: 0, position: 1 },
        { example: 1, position: 3 },
        { example: 3, position: 2 },
      ],
    },
    {
      tokens: [1, 9],
      reads: [
        { example: 2, position: 1 },
        { example: 4, position: 1 },
      ],
    },
  ]);
});

describe('the shipped syntax datasets, by construction', () => {
  const sg = new Set(['is', 'was', 'has', 'seems']);
  const pl = new Set(['are', 'were', 'have', 'seem']);

  test('subject number: frames of 4, the probed token right before the verb, the verb agreeing with the label', () => {
    const d = load('subject-number');
    expect(d.labels).toEqual(['singular', 'plural']);
    const groups = byGroup(d);
    expect(groups).toHaveLength(96);
    let otherNumber = 0;
    for (const g of groups) {
      expect(g.map((e) => e.label)).toEqual(['singular', 'singular', 'plural', 'plural']);
      const at = g.map((e) => locateTarget(tokenizer, e.text, e.target, true));
      // As many tokens up to the probed one in all four: the position says nothing.
      expect(new Set(at.map((a) => a.position)).size, g[0]!.text).toBe(1);
      // The probed word is the attractor, in both numbers (two forms, each once per label).
      const words = g.map((e) => e.text.slice(...e.target));
      expect(words[0]).toBe(words[2]);
      expect(words[1]).toBe(words[3]);
      expect(words[0]).not.toBe(words[1]);
      for (const [i, e] of g.entries()) {
        const a = at[i]!;
        // The probed token is the word's last token, and the next token is the verb.
        expect(a.tokenEnd).toBe(a.targetByteEnd);
        expect(decode(a.tokens[a.position]!).trim()).toBe(words[i]);
        const verb = decode(a.tokens[a.position + 1]!).trim();
        expect((e.label === 'singular' ? sg : pl).has(verb), `${e.text}: ${verb}`).toBe(true);
        // The subject: "the" + a noun after the opening, of the label's number; the attractor's number.
        const subject = /(?:^|, )[Tt]he (\w+) /.exec(e.text)![1]!;
        const number = e.label === 'singular' ? 0 : 1;
        expect(
          subjects.some((pair) => pair[number] === subject),
          `${e.text}: ${subject}`,
        ).toBe(true);
        const attractorPlural = attractors.findIndex((pair) => pair[1] === words[i]) >= 0;
        expect(attractors.some((pair) => pair[attractorPlural ? 1 : 0] === words[i])).toBe(true);
        const plural = number === 1;
        if (attractorPlural !== plural) otherNumber++;
      }
    }
    // Half the sentences put an attractor of the other number before the verb.
    expect(otherNumber).toBe(groups.length * 2);
  });

  test('subordinate clause: 4 words a sentence, 2 per clause, labelled by where the clause runs', () => {
    const d = load('subordinate-clause');
    expect(d.labels).toEqual(['main', 'subordinate']);
    // Frames of one sentence (relative, complement) or two (an adverbial clause in both orders).
    const groups = byGroup(d);
    expect(groups).toHaveLength(60);
    const sentences = new Map<string, typeof d.examples>();
    for (const g of groups) {
      const texts = [...new Set(g.map((e) => e.text))];
      expect(texts.length * 4, texts[0]).toBe(g.length);
      for (const t of texts)
        sentences.set(
          t,
          g.filter((e) => e.text === t),
        );
    }
    expect(sentences.size).toBe(90);
    const subordinators = /\b(who|that|when|although|before|because|while|after)\b/gi;
    for (const [text, words] of sentences) {
      expect(
        words.filter((e) => e.label === 'main'),
        text,
      ).toHaveLength(2);
      // The clause, found here from the text: from the subordinator to the next comma or full stop,
      // or, for a relative clause on the subject, over its 4 words (who the N V / that V the N).
      const m = [...text.matchAll(subordinators)];
      expect(m, text).toHaveLength(1);
      const start = m[0]!.index;
      const relative =
        /^(who|that)$/.test(m[0]![0]) && /(?:^|, |^Then )the \w+ $/i.test(text.slice(0, start));
      const rest = text.slice(start);
      const length = relative
        ? rest.split(' ').slice(0, 4).join(' ').length
        : Math.min(...[',', '.'].map((c) => rest.indexOf(c)).filter((i) => i >= 0));
      const end = start + length;
      for (const e of words) {
        const inside = e.target[0] > start && e.target[1] <= end;
        expect(e.label, `${text}: ${e.text.slice(...e.target)}`).toBe(inside ? 'subordinate' : 'main');
        // The probed token is the word itself (one token, its space in front).
        const a = locateTarget(tokenizer, e.text, e.target, true);
        expect(a.tokenEnd).toBe(a.targetByteEnd);
        expect(decode(a.tokens[a.position]!)).toBe(` ${e.text.slice(...e.target)}`);
      }
    }
  });

  test('both: balanced labels, and the split by group is disjoint and balanced on each side', () => {
    for (const id of ['subject-number', 'subordinate-clause']) {
      const d = load(id);
      const { labels, groups } = prepareProbeInputs(d, tokenizer, { bos: true, nCtx: 256 });
      expect(groups, id).toBeDefined();
      const s = groupedSplit(labels, 2, groups!, 0.75, 0);
      const ofSide = (rows: Int32Array) => new Set([...rows].map((i) => groups![i]));
      const held = ofSide(s.heldOut);
      expect([...ofSide(s.train)].filter((g) => held.has(g))).toEqual([]);
      for (const rows of [s.train, s.heldOut]) {
        const ones = [...rows].filter((i) => labels[i] === 1).length;
        expect(ones * 2, id).toBe(rows.length);
      }
    }
  });
});

describe('on the bundled model', () => {
  const gpu = useGpu();

  test(
    'captured rows equal the reference forward, and the probes fitted on both agree',
    { timeout: 900_000 },
    async () => {
      const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
      const weights = await model.checkpoint.loadWeights();
      const { nLayer: L, nEmbd: D } = model.config;
      const engine = await loadEngine(gpu, model.checkpoint);
      try {
        for (const id of ['subject-number', 'subordinate-clause']) {
          const full = load(id);
          // 6 frames of each, spread over the file: 24 subject-number sentences; 9 clause sentences
          // (3 relative or complement, 3 adverbial in both orders) of 4 probed words, 1 forward each.
          const all = byGroup(full);
          const keep = new Set(all.filter((_, i) => i % (all.length / 6) === 0).flat());
          const d = { ...full, examples: full.examples.filter((e) => keep.has(e)) };
          const { inputs, labels, groups } = prepareProbeInputs(d, model.tokenizer, { bos: true, nCtx: 256 });
          expect(sharedRuns(inputs)).toHaveLength(id === 'subject-number' ? 24 : 9);
          const session = engine.createSession({ lens: 'final', capacity: 32 });
          const features = await captureProbeFeatures(gpu.device, session, model.config, inputs, {
            batch: 12,
          });
          session.destroy();
          const N = inputs.length;
          const ref = new Float32Array(features.data.length);
          for (const [n, { tokens, position }] of inputs.entries()) {
            const r = referenceForward(weights, tokens, { logits: false });
            for (const [p, stream] of [...r.residPre, r.residPost].entries()) {
              const want = stream.subarray(position * D, (position + 1) * D);
              ref.set(want, (p * N + n) * D);
              const got = features.data.subarray((p * N + n) * D, (p * N + n + 1) * D);
              const scale = stream.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
              let err = 0;
              for (let j = 0; j < D; j++) err = Math.max(err, Math.abs(got[j]! - want[j]!));
              expect(err, `${id} example ${n}, point ${p}`).toBeLessThanOrEqual(1e-4 * scale);
            }
          }
          const fit = (data: Float32Array) =>
            fitProbes({ data, points: L + 1, examples: N, width: D }, labels, 2, { groups }).layers.map(
              (l) => [l.heldOutAccuracy, l.trainAccuracy],
            );
          expect(fit(features.data), id).toEqual(fit(ref));
        }
      } finally {
        engine.dispose();
      }
    },
  );
});
