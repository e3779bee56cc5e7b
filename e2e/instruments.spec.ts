// The instruments panel in Chromium against the CPU oracle: a random-weight GPT-2 (q and k
// sharpened so heads differ, wte scaled so the logit lens has no near-ties) is served like the hub,
// the studio runs a prompt with repeated words, and what the panel shows is checked against
// referenceHeadScores on referenceForward's f64 patterns of the same model and prompt:
// - every detector-map cell's accessible name ("Ll.Hh: previous-token 0.870") within 1e-3
//   (3 decimals shown, the GPU within 2e-5 of the oracle), before and after changing the options;
// - the induction probe's map (seeded [BOS] + R + R) against the oracle on that sequence;
// - the heads listed by strongest pattern against dominantDetectors of the oracle's scores;
// - the entropy table (per-layer mean, std, min, max over heads) within 1e-3;
// - the depth summary's lens agreement and p(final token) against the reference logit lens, its
//   pattern counts against the oracle's labels, and its captions built from those numbers.
// The panel is mounted in App.svelte as <InstrumentsPanel {run} {settings} /> (data-testid="instruments").
import type { Locator, Page } from '@playwright/test';
import {
  depthCaption,
  depthSummary,
  detectorNames,
  withProbeInduction,
} from '../src/instruments/depth-evidence';
import { referenceHeadScores } from '../src/instruments/detectors-reference';
import {
  defaultInductionLength,
  detectors,
  dominantDetectors,
  layerSpread,
  repeatedRandomTokens,
  type Detector,
  type DetectorOptions,
  type HeadScores,
} from '../src/instruments/head-scores';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward, unembed } from '../src/model/reference';
import { gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';
import { expect, missingTokenizerJson, test, type Hub } from './fixture';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 32, vocabSize: 50257 });
const L = config.nLayer;
const H = config.nHead;
// q and k sharpened; wte scaled for peaked lens distributions (no near-ties at the top).
const weights = tinyWeights(config, 33, { attention: 14, wte: 20 });
const prompt = 'The cat sat on the mat, and the cat sat on the';
const tokens = tokenizer.encode(prompt);
const T = tokens.length;
const forward = referenceForward(weights, tokens);
const scoresFor = (options?: DetectorOptions) => referenceHeadScores(forward.patterns, H, tokens, options);
const probeTokens = repeatedRandomTokens(config, { length: defaultInductionLength(config.nCtx), seed: 0 });
const probeScoresFor = (options?: DetectorOptions) =>
  referenceHeadScores(referenceForward(weights, probeTokens).patterns, H, probeTokens, options);
const tolerance = 1e-3;

const repo = 'strata-test/tiny-gpt2-instruments';
test.beforeAll(({ hub }) => hub.publish(repo, hubFiles(weights, 'vocab.json')));
test.use({ allowedErrors: [missingTokenizerJson] });

async function openStudio(page: Page, hub: Hub): Promise<void> {
  await page.goto(hub.studioUrl(repo, prompt));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
}

/** Parses "Ll.Hh: name value" (value "n/a (…)" → NaN). */
function parseCell(label: string): { layer: number; head: number; name: string; value: number } {
  const m = /^L(\d+)\.H(\d+): (\S+) (.+)$/.exec(label);
  if (!m) throw new Error(`unexpected cell label: ${label}`);
  return {
    layer: Number(m[1]),
    head: Number(m[2]),
    name: m[3]!,
    value: m[4]!.startsWith('n/a') ? NaN : Number(m[4]),
  };
}

/** Every cell of one map against the oracle's column `d` of `want`; returns the problems found. */
async function mapProblems(map: Locator, d: Detector, want: HeadScores): Promise<string[]> {
  const labels = await map
    .getByRole('gridcell')
    .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
  const problems: string[] = [];
  if (labels.length !== L * H) return [`${labels.length} cells, not ${L * H}`];
  for (const label of labels) {
    const c = parseCell(label);
    const w = want.scores[d][c.layer * H + c.head]!;
    const ok =
      c.name === detectorNames[d] &&
      (Number.isNaN(w) ? Number.isNaN(c.value) : Math.abs(c.value - w) <= tolerance);
    if (!ok) problems.push(`${label} (oracle ${w.toFixed(5)})`);
  }
  return problems;
}

async function expectMaps(panel: Locator, want: HeadScores) {
  await expect(async () => {
    const problems: string[] = [];
    for (const d of detectors) {
      problems.push(
        ...(await mapProblems(panel.locator(`[data-testid="detector-map"][data-detector="${d}"]`), d, want)),
      );
    }
    expect(problems).toEqual([]);
  }).toPass({ timeout: 60_000 });
}

/** Heads whose label cannot flip within the tolerance (no score within it of the threshold). */
const clearHead = (s: HeadScores, i: number, threshold: number) =>
  detectors.every((d) => !(Math.abs(s.scores[d][i]! - threshold) <= tolerance));

/** The heads listed by strongest pattern against dominantDetectors of the oracle's scores. */
async function expectLabels(panel: Locator, merged: HeadScores, threshold: number) {
  const want = dominantDetectors(merged, threshold);
  // Heads with a score within the tolerance of the threshold could go either way: there are none.
  expect(want.every((_, i) => clearHead(merged, i, threshold))).toBe(true);
  await expect(async () => {
    const listed = await panel
      .getByTestId('head-labels')
      .locator('li')
      .evaluateAll((lis) =>
        lis.flatMap((li) =>
          [...li.querySelectorAll('button')].map((b) => ({
            detector: li.getAttribute('data-detector'),
            layer: Number(b.dataset['layer']),
            head: Number(b.dataset['head']),
          })),
        ),
      );
    const got: (string | null)[] = Array(L * H).fill(null);
    for (const x of listed) got[x.layer * H + x.head] = x.detector;
    expect(got).toEqual(want);
  }).toPass({ timeout: 30_000 });
}

test('the detector maps, the induction probe and the head labels match the CPU oracle', async ({
  page,
  hub,
}) => {
  await openStudio(page, hub);
  const instruments = page.getByTestId('instruments');
  await expect(instruments.getByRole('tab', { name: 'Head detectors' })).toHaveAttribute(
    'aria-selected',
    'true',
  );
  const panel = instruments.getByTestId('detector-panel');

  // Default options: nothing excluded, a window of 3.
  const plain = scoresFor();
  // The prompt repeats words: its own duplicate and induction scores are defined.
  expect(plain.queries.duplicate).toBeGreaterThan(0);
  await expectMaps(panel, plain);

  // The induction probe: [BOS] + 12 random tokens + the same 12, seed 0, in its own session.
  const info = panel.getByTestId('induction-info');
  await expect(info).toHaveAttribute('data-length', String(defaultInductionLength(config.nCtx)));
  await expect(info).toHaveAttribute('data-seed', '0');
  await expect(info).toContainText(`Measured on ${probeTokens.length} tokens`);
  const probeMap = panel.locator('[data-testid="detector-map"][data-detector="probe-induction"]');
  const probePlain = probeScoresFor();
  await expect(async () => expect(await mapProblems(probeMap, 'induction', probePlain)).toEqual([])).toPass({
    timeout: 60_000,
  });

  // Heads by strongest pattern: the prompt's patterns, induction from the probe. At 0.4 every head
  // of this model is a local band; at 0.3 the sink and current-token heads show.
  const merged = withProbeInduction(plain, probePlain);
  await expectLabels(panel, merged, 0.4);
  await panel.getByLabel('Label threshold').fill('0.3');
  await panel.getByLabel('Label threshold').press('Enter');
  await expectLabels(panel, merged, 0.3);
  expect(new Set(dominantDetectors(merged, 0.3)).size).toBeGreaterThan(2);

  // The options: exclude the first token, a window of 2; the maps and the probe follow.
  await panel.getByLabel('Exclude first token (sink)').check();
  await panel.getByLabel('Local window').fill('2');
  await panel.getByLabel('Local window').press('Enter');
  const options = { excludeFirst: true, window: 2 };
  await expectMaps(panel, scoresFor(options));
  const probeExcluded = probeScoresFor(options);
  await expect(async () =>
    expect(await mapProblems(probeMap, 'induction', probeExcluded)).toEqual([]),
  ).toPass({
    timeout: 60_000,
  });
  await panel.getByLabel('Exclude current token').check();
  await expectMaps(panel, scoresFor({ ...options, excludeCurrent: true }));

  // The keyboard: the arrow keys move between cells; Enter shows the head in the attention panel.
  const previous = panel.locator('[data-testid="detector-map"][data-detector="previous"]');
  await previous.getByRole('gridcell').first().focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
  expect(parseCell(focused)).toMatchObject({ layer: 1, head: 1, name: 'previous-token' });
  await expect(panel.getByTestId('detector-readout')).toContainText('L1.H1');
  await page.keyboard.press('Enter');
  await expect(
    page.getByTestId('attention-panel').getByRole('button', { name: 'Head L1.H1' }),
  ).toHaveAttribute('aria-pressed', 'true');
});

test('entropy across depth and the depth summary match the oracle and the reference lens', async ({
  page,
  hub,
}) => {
  await openStudio(page, hub);
  const instruments = page.getByTestId('instruments');

  // A threshold at which this model's heads carry different labels (see the first test).
  const threshold = 0.3;
  await instruments.getByLabel('Label threshold').fill(String(threshold));
  await instruments.getByLabel('Label threshold').press('Enter');

  // Tabs: ← / → move between them (and show them).
  const first = instruments.getByRole('tab', { name: 'Head detectors' });
  await first.focus();
  await page.keyboard.press('ArrowRight');
  const entropyTab = instruments.getByRole('tab', { name: 'Entropy & sparsity' });
  await expect(entropyTab).toHaveAttribute('aria-selected', 'true');
  await expect(entropyTab).toBeFocused();
  await expect(instruments.getByTestId('detector-panel')).toHaveCount(0);

  const scores = scoresFor();
  const entropy = instruments.getByTestId('entropy-panel');
  for (const stat of ['entropy', 'normalizedEntropy', 'sparsity'] as const) {
    await entropy.getByLabel('Statistic').selectOption(stat);
    const want = layerSpread(L, H, scores[stat].mean);
    await expect(async () => {
      const rows = await entropy
        .getByTestId('entropy-table')
        .locator('tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => ['mean', 'std', 'min', 'max'].map((k) => Number(tr.getAttribute(`data-${k}`)))),
        );
      expect(rows).toHaveLength(L);
      const problems = rows.flatMap((r, l) => {
        const w = want[l]!;
        return [w.mean, w.std, w.min, w.max].flatMap((v, j) =>
          Math.abs(r[j]! - v) <= tolerance ? [] : [`${stat} layer ${l} #${j}: ${r[j]} vs ${v}`],
        );
      });
      expect(problems).toEqual([]);
    }).toPass({ timeout: 60_000 });
    // One dot per head, one band pair per layer.
    await expect(entropy.locator('circle.dot')).toHaveCount(L * H);
    await expect(entropy.getByTestId('entropy-layer')).toHaveCount(L);
  }

  // End: the last tab (Attribution; Patch only in compare mode); three to the left: the depth summary.
  await page.keyboard.press('End');
  await expect(instruments.getByRole('tab', { name: 'Attribution' })).toHaveAttribute(
    'aria-selected',
    'true',
  );
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  const depthTab = instruments.getByRole('tab', { name: 'Depth summary' });
  await expect(depthTab).toHaveAttribute('aria-selected', 'true');
  const summary = instruments.getByTestId('depth-summary');
  const rows = summary.getByTestId('depth-row');
  await expect(rows).toHaveCount(L + 1);

  // The reference logit lens: top-1 and the probability of the final top-1 at each depth.
  const V = config.vocabSize;
  const streams = [...forward.residPre, forward.residPost];
  const lensProbs = streams.map((x) => {
    const logits = unembed(weights, x, T);
    return Array.from({ length: T }, (_, t) => {
      const row = logits.subarray(t * V, (t + 1) * V);
      let m = -Infinity;
      for (const v of row) m = Math.max(m, v);
      let z = 0;
      for (const v of row) z += Math.exp(v - m);
      const order = Array.from(row.keys())
        .sort((a, b) => row[b]! - row[a]!)
        .slice(0, 6);
      return { order, p: (id: number) => Math.exp(row[id]! - m) / z, gap: row[order[0]!]! - row[order[1]!]! };
    });
  });
  const final = lensProbs[L]!;
  for (let d = 0; d <= L; d++) {
    const at = lensProbs[d]!;
    // Top-1 near-ties could go either way in f32: the model is built so there are none.
    expect(Math.min(...at.map((x) => x.gap))).toBeGreaterThan(1e-3);
    const agreement = at.filter((x, t) => x.order[0] === final[t]!.order[0]).length / T;
    const finalProb =
      at.reduce((a, x, t) => {
        const id = final[t]!.order[0]!;
        return a + (x.order.slice(0, 5).includes(id) ? x.p(id) : 0);
      }, 0) / T;
    const cell = rows.nth(d).locator('[data-agreement]');
    await expect(cell).toHaveAttribute('data-agreement', String(agreement));
    expect(Math.abs(Number(await cell.getAttribute('data-final-prob')) - finalProb)).toBeLessThan(tolerance);
  }

  // Pattern counts per layer against the oracle's labels (the probe's induction merged in), and
  // each caption is the one those numbers give.
  const merged = withProbeInduction(scores, probeScoresFor());
  const labels = dominantDetectors(merged, threshold);
  expect(labels.every((_, i) => clearHead(merged, i, threshold))).toBe(true);
  const wantRows = depthSummary({ nLayer: L, scores: merged, labels });
  let captions: string[] = [];
  await expect(async () => {
    for (let l = 0; l < L; l++) {
      const chips = await rows
        .nth(l + 1)
        .locator('.chip')
        .evaluateAll((els) =>
          els.map((e) => [e.getAttribute('data-detector'), Number(e.getAttribute('data-count'))]),
        );
      const want = detectors
        .map((d) => [d, labels.slice(l * H, (l + 1) * H).filter((x) => x === d).length] as const)
        .filter(([, n]) => n > 0);
      expect(chips).toEqual(want);
    }
    captions = await summary.getByTestId('depth-caption').allTextContents();
    expect(captions).toHaveLength(L + 1);
    for (let l = 0; l < L; l++) {
      const row = wantRows[l + 1]!;
      // "Ll: <patterns>; attention entropy …": the patterns part without entropy or lens.
      const patterns = depthCaption({ ...row, entropy: undefined }, threshold).slice(0, -1);
      expect(
        captions[l + 1]!.startsWith(`${patterns}; attention entropy ${row.entropy!.nats.toFixed(2)} nats`),
      ).toBe(true);
    }
  }).toPass({ timeout: 30_000 });
  expect(captions[L]).toContain("the stream is the model's output");
  expect(captions[0]).toMatch(
    /^Embeddings: at the embeddings the lens's top token is the final one at \d+ of \d+ positions/,
  );
});
