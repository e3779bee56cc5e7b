// The table and the JSON of `npm run bench:peers`: per configuration each engine's median, and the
// ratio Strata / peer with Strata's captures off (forward only) and with the studio's captures
// (< 1: Strata is faster); the lines onnxruntime-web logged about where it placed nodes (CPU
// fallbacks).

export interface Row {
  shape: string;
  T: number;
  engine: string;
  mode: string;
  budget_s: number;
  status: 'ok' | 'wrong' | 'skipped' | 'failed';
  reason?: string;
  median_ms?: number;
  reps?: number;
  dispatches?: number;
  submits?: number;
  max_err?: number;
  tol?: number;
  gflop?: number;
  /** The checked forward (the first of its session: includes pipeline creation). */
  first_ms?: number;
  /** Uncaptured WebGPU errors in the checked forward (why an engine is wrong, often). */
  gpu_errors?: string[];
}

const cell = (r: Row | undefined) =>
  !r ? '—' : r.status === 'ok' ? `${r.median_ms!.toFixed(1)} ms` : r.status === 'wrong' ? 'WRONG' : r.status;

/** Where ORT placed the nodes of its optimised graph: per engine, per execution provider, op counts. */
export function placements(log: { engine: string; text: string }[]) {
  const out: Record<string, Record<string, Record<string, number>>> = {};
  let ep = '';
  for (const { engine, text } of log) {
    const head = /Node\(s\) placed on \[(\w+)\]/.exec(text);
    if (head) {
      ep = head[1]!;
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s+(\w+) \(/.exec(text);
    if (!node || !ep) continue;
    const ops = ((out[engine] ??= {})[ep] ??= {});
    ops[node[1]!] = (ops[node[1]!] ?? 0) + 1;
  }
  return out;
}

export function report(
  rows: Row[],
  adapter: unknown,
  ortLog: { engine: string; text: string }[],
  tolerance: number,
) {
  const configs = [...new Set(rows.map((r) => `${r.shape}:${r.T}`))];
  const peers = [...new Set(rows.map((r) => r.engine).filter((e) => e !== 'strata'))];
  const find = (c: string, engine: string, mode = 'forward') =>
    rows.find((r) => `${r.shape}:${r.T}` === c && r.engine === engine && r.mode === mode);
  const ratios: Record<string, unknown>[] = [];
  const header = [
    'config',
    'strata',
    'strata+captures',
    ...peers,
    ...peers.map((p) => `S/${p} (fwd, +capt)`),
  ];
  const table: string[][] = [header];
  for (const c of configs) {
    const sf = find(c, 'strata');
    const sc = find(c, 'strata', 'captures');
    const line = [c.replace(':', ' T='), cell(sf), cell(sc), ...peers.map((p) => cell(find(c, p)))];
    for (const p of peers) {
      const peer = find(c, p);
      const ok = (r?: Row) => r?.status === 'ok';
      const fwd = ok(sf) && ok(peer) ? sf!.median_ms! / peer!.median_ms! : undefined;
      const capt = ok(sc) && ok(peer) ? sc!.median_ms! / peer!.median_ms! : undefined;
      line.push(fwd === undefined ? '—' : `${fwd.toFixed(2)}, ${capt?.toFixed(2) ?? '—'}`);
      const [shape, T] = c.split(':');
      ratios.push({
        shape,
        T: Number(T),
        peer: p,
        strata_forward_over_peer: fwd,
        strata_captures_over_peer: capt,
      });
    }
    table.push(line);
  }
  const widths = header.map((_, i) => Math.max(...table.map((l) => l[i]!.length)));
  const lines = [
    `logits checked against the CPU reference within ${tolerance} × max |logit| before timing`,
    ...table.map((l) => l.map((s, i) => s.padEnd(widths[i]!)).join('  ')),
  ];
  for (const r of rows.filter((r) => r.status === 'ok'))
    lines.push(
      `dispatches per forward: ${r.shape} T=${r.T} ${r.engine}${r.mode === 'captures' ? '+captures' : ''} ` +
        `${r.dispatches} (${r.submits} queue submits)`,
    );
  // onnxruntime-web's own log of its optimised graph's placement: which nodes the CPU (wasm) runs.
  const placement = placements(ortLog);
  for (const [engine, eps] of Object.entries(placement))
    for (const [ep, ops] of Object.entries(eps)) {
      const n = Object.values(ops).reduce((a, b) => a + b, 0);
      const list = Object.entries(ops).map(([op, k]) => `${op}×${k}`);
      lines.push(`${engine}: ${n} nodes on ${ep}: ${list.join(' ')}`);
    }
  if (!Object.keys(placement).length && peers.some((p) => p.startsWith('ort')))
    lines.push('ORT logged no node placement');
  return {
    lines,
    json: {
      date: new Date().toISOString(),
      adapter,
      tolerance_rel: tolerance,
      rows,
      ratios,
      ort_placement: placement,
    },
  };
}
