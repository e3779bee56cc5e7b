// e2e/bench-ui.ts's numbers: summaries (median, p90), the table it prints, and a CPU profile's
// top functions by self time.

const quantile = (xs: number[], q: number) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

export interface Summary {
  median_ms: number;
  p90_ms: number;
  max_ms: number;
  n: number;
}

export const summary = (xs: number[]): Summary => ({
  median_ms: Number(quantile(xs, 0.5).toFixed(2)),
  p90_ms: Number(quantile(xs, 0.9).toFixed(2)),
  max_ms: Number((xs.some(Number.isFinite) ? Math.max(...xs.filter(Number.isFinite)) : NaN).toFixed(2)),
  n: xs.length,
});

export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** The `n` functions with the most self time in `profile`, ms. */
export function topFunctions(profile: CpuProfile, n: number): { fn: string; self_ms: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.split('/').at(-1) ?? '';
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, ms]) => ({ fn, self_ms: Number(ms.toFixed(1)) }));
}

type Phase = { frame_interval: Summary; gpu_frame: Record<string, Summary>; readbacks_per_frame: number };

/** Prints the keystroke breakdown and the frame times, one column per model. */
export function printTable(results: Record<string, unknown>): void {
  const names = Object.keys(results);
  const r = results as Record<string, Record<string, unknown>>;
  const cell = (s: Summary | undefined) => (s ? `${s.median_ms.toFixed(1)} / ${s.p90_ms.toFixed(1)}` : '–');
  // A canvas with no GPU frame in a phase was not redrawn in it (the atlas, while the layer is
  // scrubbed or its cursor moves: only its DOM highlight follows).
  const gpuCell = (s: Summary | undefined) => (s && s.n === 0 ? 'not redrawn' : cell(s));
  const rows: [string, (name: string) => string][] = [
    ['tokens', (m) => String(r[m]!['tokens'])],
    ['load + first draw (s)', (m) => ((r[m]!['load_and_first_draw_ms'] as number) / 1000).toFixed(1)],
  ];
  const steps = [
    'input',
    'tokenize',
    'debounce',
    'queue',
    'encodeSubmit',
    'forwardGpu',
    'lensWait',
    'lensGpu',
    'gpu',
    'drawEncode',
    'drawGpu',
  ];
  const views = ['heatmaps', 'textView', 'flow', 'flowLens', 'prediction', 'total'];
  const key = (phase: string, s: string) => (m: string) =>
    cell((r[m]![phase] as Record<string, Summary> | undefined)?.[s]);
  for (const s of steps) rows.push([`key: ${s}`, key('keystroke_to_views', s)]);
  for (const s of views) rows.push([`key → ${s}`, key('keystroke_to_views', s)]);
  for (const s of ['forwardGpu', 'lensGpu', 'gpu', 'atlas', 'prediction'])
    rows.push([`atlas tab, key → ${s}`, key('keystroke_to_atlas', s)]);
  for (const s of ['forwardGpu', 'lensGpu', 'gpu', 'textView', 'prediction'])
    rows.push([`text tab, key → ${s}`, key('keystroke_to_text_view', s)]);
  const phases = ['scrub_heads_and_flow', 'flow_pan', 'scrub_atlas_and_flow', 'atlas_cursor'];
  for (const p of phases) {
    rows.push([`${p}: frame interval`, (m) => cell((r[m]![p] as Phase).frame_interval)]);
    const canvases = new Set(names.flatMap((m) => Object.keys((r[m]![p] as Phase).gpu_frame)));
    for (const c of canvases)
      rows.push([`${p}: GPU ${c.replace('-canvas', '')}`, (m) => gpuCell((r[m]![p] as Phase).gpu_frame[c])]);
    rows.push([`${p}: readbacks/frame`, (m) => String((r[m]![p] as Phase).readbacks_per_frame)]);
  }
  const width = Math.max(...rows.map(([l]) => l.length));
  const col = 18;
  console.log(`${'ms, median / p90'.padEnd(width)}  ${names.map((n) => n.padStart(col)).join('')}`);
  for (const [label, f] of rows)
    console.log(`${label.padEnd(width)}  ${names.map((n) => f(n).padStart(col)).join('')}`);
}
