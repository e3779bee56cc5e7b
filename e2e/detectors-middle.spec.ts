// The middle- and late-layer detectors in Chromium on the bundled model (gpt2-brown-mini), against
// the CPU oracle computed here in Node on referenceForward's f64 patterns of the same model:
// - the five dataset maps (syntax noun → det/adj and verb → subject, coreference, aggregation and
//   the punctuation sink on the Brown passage) appear once the datasets have run, every cell's
//   data-score within 1e-3 of referenceMiddleScores (the GPU is within 2e-5 in Node; the browser may
//   run f16 weights and captures, as e2e/instruments.spec.ts allows), and the cost line says 3 forwards;
// - the prompt's aggregation and punctuation-sink maps the same way, on the prompt's tokens;
// - the head labels ("Heads by strongest pattern" and the attention grid's badges) carry the
//   middle-layer kinds exactly where dominantLabels of the oracle's scores puts them, and the
//   oracle puts at least one there (the bundled model's L3.H1 is a punctuation sink on the passage).
import type { Page } from '@playwright/test';
import { filesFromDirectory } from '../src/cli/node-source';
import { defaultDatasetTokens, middleDatasets } from '../src/instruments/datasets/encode';
import { withProbeInduction } from '../src/instruments/depth-evidence';
import { referenceHeadScores } from '../src/instruments/detectors-reference';
import { dominantLabels, type MiddleStrengths } from '../src/instruments/head-labels';
import { defaultInductionLength, repeatedRandomTokens } from '../src/instruments/head-scores';
import { datasetSpecs, promptSpec } from '../src/instruments/middle-detectors';
import { referenceMiddleScores } from '../src/instruments/middle-reference';
import { middleDetectors, type MiddleScores } from '../src/instruments/middle-scores';
import { openModel } from '../src/model/load';
import { referenceForward } from '../src/model/reference';
import { expect, headButton, test } from './fixture';

const prompt = 'The jury said, in a statement, that the city was ready; the mayor, however, was not.';
const tolerance = 1e-3;

async function oracle() {
  const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
  const weights = await model.checkpoint.loadWeights();
  const { config, tokenizer } = model;
  const text = (id: number) => tokenizer.decode([id]);
  const data = middleDatasets(tokenizer, {
    maxTokens: defaultDatasetTokens(config.nCtx),
    bos: config.bosTokenId,
  });
  const specs = datasetSpecs(data, text);
  const run = (tokens: readonly number[], spec: Parameters<typeof referenceMiddleScores>[3]) =>
    referenceMiddleScores(referenceForward(weights, [...tokens]).patterns, config.nHead, tokens.length, spec);
  const sets = {
    syntax: run(data.syntax.tokens, specs.syntax),
    coreference: run(data.coreference.tokens, specs.coreference),
    passage: run(data.passage.tokens, specs.passage),
  };
  const tokens = [config.bosTokenId, ...tokenizer.encode(prompt)];
  const promptMiddle = run(tokens, promptSpec(tokens, text));
  const headScores = referenceHeadScores(referenceForward(weights, tokens).patterns, config.nHead, tokens);
  const probe = repeatedRandomTokens(config, { length: defaultInductionLength(config.nCtx), seed: 0 });
  const probeScores = referenceHeadScores(referenceForward(weights, probe).patterns, config.nHead, probe);
  const strengths: MiddleStrengths = {
    ...sets.syntax.strength,
    ...sets.coreference.strength,
    ...sets.passage.strength,
  };
  const labels = dominantLabels(
    config.nLayer,
    config.nHead,
    withProbeInduction(headScores, probeScores),
    strengths,
    0.4,
  );
  return { config, sets, promptMiddle, labels };
}

async function mapScores(page: Page, key: string): Promise<number[]> {
  return page
    .getByTestId('middle-detectors')
    .locator(`[data-testid="detector-map"][data-detector="${key}"] [role="gridcell"]`)
    .evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset['score'])));
}

function problems(got: number[], want: Float64Array, what: string): string[] {
  if (got.length !== want.length) return [`${what}: ${got.length} cells, not ${want.length}`];
  return got.flatMap((g, i) =>
    Number.isNaN(want[i]!) !== Number.isNaN(g) || Math.abs(g - want[i]!) > tolerance
      ? [`${what} head ${i}: ${g} vs oracle ${want[i]}`]
      : [],
  );
}

test('the middle-layer maps equal the CPU oracle, and their labels reach the head lists and the grid', async ({
  page,
}) => {
  test.setTimeout(420_000);
  const want = await oracle();
  const { nHead } = want.config;
  await page.goto(`/?${new URLSearchParams({ prompt, bos: '1' }).toString()}`);
  await expect(page.getByTestId('model-panel')).toContainText('gpt2-brown-mini');
  const cost = page.getByTestId('middle-cost');
  await expect(cost).toBeVisible({ timeout: 300_000 });
  await expect(cost).toHaveAttribute('data-forwards', '3');
  console.log(await cost.innerText());

  const datasetMaps: [string, MiddleScores, (typeof middleDetectors)[number]][] = [
    ['middle-modifier', want.sets.syntax, 'modifier'],
    ['middle-subject', want.sets.syntax, 'subject'],
    ['middle-coreference', want.sets.coreference, 'coreference'],
    ['middle-aggregation', want.sets.passage, 'aggregation'],
    ['middle-punctuation', want.sets.passage, 'punctuation'],
  ];
  for (const [key, set, kind] of datasetMaps) {
    const got = await mapScores(page, key);
    expect(problems(got, set.scores[kind]!, key)).toEqual([]);
    console.log(key, got.map((v) => v.toFixed(2)).join(' '));
  }
  for (const kind of ['aggregation', 'punctuation'] as const) {
    await expect(async () => {
      const got = await mapScores(page, `prompt-${kind}`);
      expect(problems(got, want.promptMiddle.scores[kind]!, `prompt-${kind}`)).toEqual([]);
    }).toPass({ timeout: 60_000 });
  }
  // The aggregated-on token of each head, as the oracle finds it.
  const aggregators = await page
    .locator('[data-detector="middle-aggregation"] [role="gridcell"]')
    .evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset['aggregator'])));
  expect(aggregators).toEqual([...want.sets.passage.aggregator!]);

  // Labels: the middle kinds where the oracle's dominantLabels puts them, and at least one.
  const middle = new Set<string>(middleDetectors);
  const expected = want.labels.flatMap((k, i) => (k && middle.has(k) ? [`${k} ${i}`] : []));
  expect(expected.length).toBeGreaterThan(0);
  const list = page.getByTestId('instruments').getByTestId('head-labels');
  await expect(async () => {
    const shown = await list
      .locator('li')
      .evaluateAll((items) =>
        items.flatMap((li) =>
          [...li.querySelectorAll('button')].map(
            (b) => `${li.getAttribute('data-detector')} ${b.dataset['layer']}.${b.dataset['head']}`,
          ),
        ),
      );
    const middleShown = shown
      .filter((s) => middle.has(s.split(' ')[0]!))
      .map((s) => {
        const [k, lh] = s.split(' ');
        const [l, h] = lh!.split('.').map(Number);
        return `${k} ${l! * nHead + h!}`;
      });
    expect(middleShown.sort()).toEqual([...expected].sort());
  }).toPass({ timeout: 60_000 });

  // The attention grid's badge of the first such head names its pattern.
  const [kind, index] = expected[0]!.split(' ');
  const layer = Math.floor(Number(index) / nHead);
  const head = Number(index) % nHead;
  const button = await headButton(page, layer, head);
  const title = {
    modifier: /noun/,
    subject: /subject/,
    coreference: /coreference/,
    aggregation: /aggregation/,
    punctuation: /punctuation/,
  }[kind as 'modifier'];
  await expect(button).toHaveAccessibleDescription(title);

  // The depth summary says where each pattern peaks.
  await page.getByRole('tab', { name: 'Depth summary' }).click();
  await expect(page.getByTestId('middle-peaks')).toContainText('punctuation-sink heads peak at L');
});
