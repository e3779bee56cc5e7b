// The residual-stream flow view in Chromium on the fixture model: every cell's logit-lens top token
// and probability, every stream norm, and every block's attention and MLP additions (norm and
// cosine) as the studio computed them on the GPU, against the CPU reference forward. Tolerances:
// lens probabilities 1e-4 absolute (the engine's); stream norms 1e-4 relative; the additions'
// norms 1e-3 relative and cosines 1e-3 absolute (a difference of two f32 streams that are ~100×
// larger). Then the keyboard: arrows move a cell cursor whose tooltip lists the top 5; and the
// layer sliders (this view's and the attention panel's) move one highlight.
import { referenceBlockStats } from '../test/support/reference-cases';
import { config, expect, reference, rowNorm, test, tokenizer, top2 } from './fixture';

const prompt = 'The cat sat on the mat, and the dog';
const want = reference(prompt);
const { T } = want;
const L = config.nLayer;
const D = config.nEmbd;

test('the flow view shows the lens, the stream and each block’s additions as the reference computes them', async ({
  page,
  fixture,
}) => {
  await page.goto(fixture.url(prompt));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const flow = page.getByTestId('flow-view');
  const cells = flow.getByTestId('flow-cell');
  await expect(cells).toHaveCount((L + 1) * T);

  // Every cell: data the page renders from the GPU's numbers.
  const got = await cells.evaluateAll((els) =>
    els.map((el) => ({
      depth: Number(el.dataset['depth']),
      position: Number(el.dataset['position']),
      id: Number(el.dataset['tokenId']),
      p: Number(el.dataset['p']),
      norm: Number(el.dataset['norm']),
      text: el.textContent ?? '',
      label: el.getAttribute('aria-label') ?? '',
    })),
  );
  const problems: string[] = [];
  let clearWinners = 0;
  for (const c of got) {
    const [[id1, p1], [id2, p2]] = top2(want.lens[c.depth]!, c.position);
    // A near-tie may swap the two best; then the probability still matches.
    if (c.id !== id1 && !(c.id === id2 && p1 - p2 < 1e-4))
      problems.push(`d${c.depth} t${c.position}: token ${c.id}, want ${id1}`);
    if (Math.abs(c.p - p1) > 1e-4) problems.push(`d${c.depth} t${c.position}: p ${c.p}, want ${p1}`);
    if (p1 - p2 > 0.01) clearWinners++;
    const norm = rowNorm(want.depths[c.depth]!, c.position);
    if (Math.abs(c.norm - norm) > 1e-4 * norm)
      problems.push(`d${c.depth} t${c.position}: norm ${c.norm}, want ${norm}`);
    // The cell shows the token it names.
    const shown = tokenizer.tokenLabel(c.id).replaceAll(' ', '·').replaceAll('\n', '↵');
    if (!c.text.includes(shown.slice(0, 3))) problems.push(`d${c.depth} t${c.position}: shows "${c.text}"`);
  }
  expect(problems).toEqual([]);
  expect(clearWinners).toBeGreaterThan(T); // the lens is not a coin toss on this fixture
  // The final prediction is marked, and it is the prediction panel's top token.
  const final = flow.locator(`[data-testid="flow-cell"][data-depth="${L}"][data-position="${T - 1}"]`);
  await expect(final).toHaveAttribute('aria-label', /the final prediction/);
  await expect(final).toHaveClass(/final/);
  const predicted = await page.getByTestId('next-tokens').locator('li').first().getAttribute('data-token-id');
  await expect(final).toHaveAttribute('data-token-id', predicted!);

  // Each block's additions.
  for (const kind of ['attn', 'mlp'] as const) {
    const bars = await flow.getByTestId(`${kind}-bar`).evaluateAll((els) =>
      els.map((el) => ({
        layer: Number(el.getAttribute('data-layer')),
        position: Number(el.getAttribute('data-position')),
        norm: Number(el.getAttribute('data-norm')),
        cos: Number(el.getAttribute('data-cos')),
        height: Number(el.getAttribute('height')),
      })),
    );
    expect(bars).toHaveLength(L * T);
    for (const b of bars) {
      const r = referenceBlockStats(want.ref, b.layer, b.position, D);
      const [norm, cos] = kind === 'attn' ? [r.attnNorm, r.attnCos] : [r.mlpNorm, r.mlpCos];
      expect(Math.abs(b.norm - norm), `${kind} L${b.layer} t${b.position}`).toBeLessThanOrEqual(1e-3 * norm);
      expect(Math.abs(b.cos - cos), `${kind} L${b.layer} t${b.position}`).toBeLessThanOrEqual(1e-3);
    }
    // Bar heights follow the norms: the largest addition has the tallest bar.
    const tallest = bars.reduce((a, b) => (b.height > a.height ? b : a));
    const largest = bars.reduce((a, b) => (b.norm > a.norm ? b : a));
    expect(tallest.norm).toBeGreaterThanOrEqual(largest.norm * 0.999);
  }

  // Keyboard: Tab reaches the grid at the final prediction; arrows move; the tooltip lists the top 5.
  await final.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowLeft');
  const tooltip = flow.getByTestId('flow-tooltip');
  await expect(tooltip).toContainText(`position ${T - 2}`);
  await expect(tooltip).toContainText(`blocks.${L - 1}.hook_resid_pre`);
  const ids = await tooltip
    .locator('li')
    .evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-token-id'))));
  expect(ids).toHaveLength(5);
  expect(ids[0]).toBe(got.find((c) => c.depth === L - 1 && c.position === T - 2)!.id);
  await expect(page.locator(':focus')).toHaveAttribute('data-depth', String(L - 1));
  await page.keyboard.press('PageDown');
  await expect(page.locator(':focus')).toHaveAttribute('data-depth', '0');
  await expect(tooltip).toContainText('embeddings');

  // The highlight follows this view's slider and the attention panel's: one layer for both.
  const band = (l: number) => flow.locator(`[data-testid="flow-band"][data-layer="${l}"]`);
  await expect(band(0)).toHaveAttribute('data-current', 'true');
  await flow.getByRole('slider', { name: 'Block' }).press('ArrowRight');
  await expect(band(1)).toHaveAttribute('data-current', 'true');
  await expect(band(0)).toHaveAttribute('data-current', 'false');
  await expect(page.getByTestId('attention-panel').getByRole('slider', { name: 'Layer' })).toHaveValue('1');
  await page.getByTestId('attention-panel').getByRole('slider', { name: 'Layer' }).press('Home');
  await expect(band(0)).toHaveAttribute('data-current', 'true');
});
