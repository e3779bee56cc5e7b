// Linear probes: one multinomial logistic regression per residual-stream point, fitted on a
// training split and scored on held-out examples, with the majority-class baseline beside it.
// Pure TypeScript (no GPU, no DOM): the browser runs it in a worker (probe-worker.ts), tests in Node.
//
// Written here rather than taken from a library: it is ~200 lines (L-BFGS over the softmax loss),
// the npm options are either unmaintained or pull in a tensor runtime, and the tests check it
// against known Bayes rates and a finite-difference gradient.

import { mulberry32 } from '../model/random';
import { groupedSplit } from './probe-split';

/** The residual stream at each example's target token, for every probed point. */
export interface ProbeFeatures {
  /** (points, examples, width) f32. */
  readonly data: Float32Array;
  readonly points: number;
  readonly examples: number;
  readonly width: number;
}

export interface LogisticOptions {
  /** L2 penalty on the weights (not the biases), on the mean loss over standardized features. */
  readonly l2: number;
  readonly maxIterations: number;
  /** Stop when the largest gradient component is below this. */
  readonly tolerance: number;
}

const defaultLogisticOptions: LogisticOptions = { l2: 1e-2, maxIterations: 300, tolerance: 1e-5 };

export interface ProbeFitOptions extends Partial<LogisticOptions> {
  /** Fraction of each label's examples to train on (default 0.75); the rest are held out. */
  readonly trainFraction?: number;
  /** Seed of the split (default 0): the same seed, the same split. */
  readonly seed?: number;
  /** Each example's group (template instance): when given, whole groups are held out (groupedSplit). */
  readonly groups?: ArrayLike<number>;
}

export interface LogisticModel {
  readonly classes: number;
  readonly width: number;
  /** Standardization fitted on the training rows: z = (x − mean)·scale (scale 0 for constant features). */
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  /** (classes, width) weights on standardized features, and (classes) biases. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly iterations: number;
  /** Final training objective (mean cross-entropy + penalty) and its gradient's largest component. */
  readonly loss: number;
  readonly gradientMax: number;
  readonly converged: boolean;
}

export interface LayerProbe {
  /** Index of the probed point: 0 = resid_pre 0 (embeddings), …, L = the final resid_post. */
  readonly point: number;
  readonly trainAccuracy: number;
  readonly heldOutAccuracy: number;
  readonly iterations: number;
  readonly converged: boolean;
}

export interface ProbeFitResult {
  readonly layers: readonly LayerProbe[];
  /** The most frequent training label, and the held-out accuracy of always answering it. */
  readonly majority: { readonly label: number; readonly accuracy: number };
  readonly trainCount: number;
  readonly heldOutCount: number;
  readonly classes: number;
  /** Groups on each side, when the split was by group. */
  readonly groups?: { readonly train: number; readonly heldOut: number };
}

// ---------------------------------------------------------------------------------------------
// Split

/**
 * A seeded, stratified split: each label's examples are shuffled and round((1 − trainFraction)·n)
 * of them held out (at least one, and at least one left to train on). Indices come back sorted.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  classes: number,
  trainFraction: number,
  seed: number,
): { train: Int32Array; heldOut: Int32Array } {
  if (!(trainFraction > 0 && trainFraction < 1))
    throw new RangeError(`trainFraction must be between 0 and 1 (exclusive), not ${trainFraction}`);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes)
      throw new RangeError(`label ${c} of example ${i} is not in [0, ${classes})`);
    byClass[c]!.push(i);
  }
  const random = mulberry32(seed);
  const train: number[] = [];
  const heldOut: number[] = [];
  for (const members of byClass) {
    // Fisher–Yates with the seeded generator.
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    const n = members.length;
    const nOut = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round((1 - trainFraction) * n)));
    heldOut.push(...members.slice(0, nOut));
    train.push(...members.slice(nOut));
  }
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { train: sorted(train), heldOut: sorted(heldOut) };
}

// ---------------------------------------------------------------------------------------------
// Logistic regression

/**
 * The objective and its gradient at theta = [W [K, d] row-major | b [K]]: mean softmax
 * cross-entropy over the n rows of X (n, d) + (l2 / 2)·‖W‖². Writes the gradient into `grad`.
 */
export function softmaxLoss(
  theta: Float64Array,
  X: Float64Array,
  y: ArrayLike<number>,
  n: number,
  d: number,
  K: number,
  l2: number,
  grad: Float64Array,
): number {
  grad.fill(0);
  const bOff = K * d;
  const z = new Float64Array(K);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = i * d;
    let zMax = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = theta[bOff + k]!;
      const w = k * d;
      for (let j = 0; j < d; j++) s += theta[w + j]! * X[row + j]!;
      z[k] = s;
      if (s > zMax) zMax = s;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(z[k]! - zMax);
    const logZ = zMax + Math.log(sum);
    const yi = y[i]!;
    loss += logZ - z[yi]!;
    for (let k = 0; k < K; k++) {
      // d loss_i / d z_k = p_k − [k = y_i], accumulated into the weights' gradient row k.
      const r = (Math.exp(z[k]! - logZ) - (k === yi ? 1 : 0)) / n;
      grad[bOff + k]! += r;
      if (r === 0) continue;
      const w = k * d;
      for (let j = 0; j < d; j++) grad[w + j]! += r * X[row + j]!;
    }
  }
  let penalty = 0;
  for (let j = 0; j < bOff; j++) {
    penalty += theta[j]! * theta[j]!;
    grad[j]! += l2 * theta[j]!;
  }
  return loss / n + 0.5 * l2 * penalty;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly gradientMax: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Minimizes a smooth function with L-BFGS (memory 10) and a backtracking Armijo line search.
 * `f(x, grad)` returns the value and writes the gradient.
 */
export function lbfgs(
  f: (x: Float64Array, grad: Float64Array) => number,
  x0: Float64Array,
  options: { maxIterations: number; tolerance: number; memory?: number },
): LbfgsResult {
  const m = options.memory ?? 10;
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let fx = f(x, g);
  const s: Float64Array[] = [];
  const yv: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const dot = (a: Float64Array, b: Float64Array) => {
    let t = 0;
    for (let i = 0; i < n; i++) t += a[i]! * b[i]!;
    return t;
  };
  const maxAbs = (a: Float64Array) => {
    let t = 0;
    for (let i = 0; i < n; i++) t = Math.max(t, Math.abs(a[i]!));
    return t;
  };
  let iterations = 0;
  let converged = maxAbs(g) < options.tolerance;
  while (!converged && iterations < options.maxIterations) {
    // Two-loop recursion: dir = −H·g.
    for (let i = 0; i < n; i++) dir[i] = -g[i]!;
    for (let j = s.length - 1; j >= 0; j--) {
      alpha[j] = rho[j]! * dot(s[j]!, dir);
      const yj = yv[j]!;
      for (let i = 0; i < n; i++) dir[i]! -= alpha[j]! * yj[i]!;
    }
    if (s.length > 0) {
      const last = s.length - 1;
      const gamma = dot(s[last]!, yv[last]!) / dot(yv[last]!, yv[last]!);
      for (let i = 0; i < n; i++) dir[i]! *= gamma;
    } else {
      // First step: a unit-length steepest descent step.
      const norm = Math.sqrt(dot(g, g));
      for (let i = 0; i < n; i++) dir[i]! /= norm;
    }
    for (let j = 0; j < s.length; j++) {
      const beta = rho[j]! * dot(yv[j]!, dir);
      const sj = s[j]!;
      for (let i = 0; i < n; i++) dir[i]! += (alpha[j]! - beta) * sj[i]!;
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      s.length = yv.length = rho.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i]!;
      slope = dot(g, dir);
    }
    let t = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + t * dir[i]!;
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * t * slope) break;
      t *= 0.5;
    }
    iterations++;
    if (!(fNew < fx)) break; // no progress possible in float64
    const sNew = new Float64Array(n);
    const yNew = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sNew[i] = xNew[i]! - x[i]!;
      yNew[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(sNew, yNew);
    if (sy > 1e-12) {
      if (s.length === m) {
        s.shift();
        yv.shift();
        rho.shift();
      }
      s.push(sNew);
      yv.push(yNew);
      rho.push(1 / sy);
    }
    const decrease = fx - fNew;
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    converged = maxAbs(g) < options.tolerance;
    if (decrease <= 1e-13 * Math.max(1, Math.abs(fx))) break;
  }
  return { x, value: fx, gradientMax: maxAbs(g), iterations, converged };
}

/** Standardized copy of the chosen rows: [rows, d] with the mean and scale fitted on those rows. */
function standardize(
  X: ArrayLike<number>,
  d: number,
  rows: ArrayLike<number>,
): { Z: Float64Array; mean: Float64Array; scale: Float64Array } {
  const n = rows.length;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const r = rows[i]! * d;
    for (let j = 0; j < d; j++) mean[j]! += X[r + j]!;
  }
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) {
    const r = rows[i]! * d;
    for (let j = 0; j < d; j++) scale[j]! += (X[r + j]! - mean[j]!) ** 2;
  }
  for (let j = 0; j < d; j++) {
    const std = Math.sqrt(scale[j]! / n);
    // A (numerically) constant feature carries nothing: weight it 0 rather than divide by ~0.
    scale[j] = std > 1e-12 * (Math.abs(mean[j]!) + 1e-30) && std > 0 ? 1 / std : 0;
  }
  return { Z: applyStandardization(X, d, rows, mean, scale), mean, scale };
}

function applyStandardization(
  X: ArrayLike<number>,
  d: number,
  rows: ArrayLike<number>,
  mean: Float64Array,
  scale: Float64Array,
): Float64Array {
  const Z = new Float64Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]! * d;
    for (let j = 0; j < d; j++) Z[i * d + j] = (X[r + j]! - mean[j]!) * scale[j]!;
  }
  return Z;
}

/**
 * Fits multinomial logistic regression on rows `rows` of X (examples, d) with labels y (indexed
 * like X's rows): features standardized on those rows, L2 on the weights, L-BFGS from zero.
 */
export function fitLogistic(
  X: ArrayLike<number>,
  d: number,
  y: ArrayLike<number>,
  classes: number,
  rows: ArrayLike<number>,
  options: Partial<LogisticOptions> = {},
): LogisticModel {
  const l2 = options.l2 ?? defaultLogisticOptions.l2;
  const maxIterations = options.maxIterations ?? defaultLogisticOptions.maxIterations;
  const tolerance = options.tolerance ?? defaultLogisticOptions.tolerance;
  const n = rows.length;
  if (n === 0) throw new RangeError('no training rows');
  const { Z, mean, scale } = standardize(X, d, rows);
  const yRows = Int32Array.from({ length: n }, (_, i) => y[rows[i]!]!);
  const K = classes;
  const result = lbfgs(
    (theta, grad) => softmaxLoss(theta, Z, yRows, n, d, K, l2, grad),
    new Float64Array(K * (d + 1)),
    {
      maxIterations,
      tolerance,
    },
  );
  return {
    classes: K,
    width: d,
    mean,
    scale,
    weights: result.x.slice(0, K * d),
    bias: result.x.slice(K * d),
    iterations: result.iterations,
    loss: result.value,
    gradientMax: result.gradientMax,
    converged: result.converged,
  };
}

/** The model's label for each of `rows` of X (examples, d). */
export function predictLogistic(
  model: LogisticModel,
  X: ArrayLike<number>,
  rows: ArrayLike<number>,
): Int32Array {
  const { width: d, classes: K, weights, bias } = model;
  const Z = applyStandardization(X, d, rows, model.mean, model.scale);
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    let best = 0;
    let bestZ = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = bias[k]!;
      for (let j = 0; j < d; j++) s += weights[k * d + j]! * Z[i * d + j]!;
      if (s > bestZ) {
        bestZ = s;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

function accuracy(predicted: Int32Array, y: ArrayLike<number>, rows: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < rows.length; i++) if (predicted[i] === y[rows[i]!]) hits++;
  return rows.length === 0 ? NaN : hits / rows.length;
}

/** The most frequent label among `train` (ties: the lowest), and how often it is right on `heldOut`. */
export function majorityBaseline(
  labels: ArrayLike<number>,
  classes: number,
  train: ArrayLike<number>,
  heldOut: ArrayLike<number>,
): { label: number; accuracy: number } {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < train.length; i++) counts[labels[train[i]!]!]!++;
  const label = counts.indexOf(Math.max(...counts));
  let hits = 0;
  for (let i = 0; i < heldOut.length; i++) if (labels[heldOut[i]!] === label) hits++;
  return { label, accuracy: heldOut.length === 0 ? NaN : hits / heldOut.length };
}

/**
 * One probe per point of `features`, all on the same split. `onLayer(done, total)` is called after
 * each point (the worker posts it as progress).
 */
export function fitProbes(
  features: ProbeFeatures,
  labels: ArrayLike<number>,
  classes: number,
  options: ProbeFitOptions = {},
  onLayer?: (done: number, total: number) => void,
): ProbeFitResult {
  const { points, examples, width } = features;
  if (labels.length !== examples) throw new RangeError(`${labels.length} labels for ${examples} examples`);
  if (features.data.length !== points * examples * width)
    throw new RangeError(`features hold ${features.data.length} values, not ${points}×${examples}×${width}`);
  const [fraction, seed] = [options.trainFraction ?? 0.75, options.seed ?? 0];
  if (options.groups && options.groups.length !== examples)
    throw new RangeError(`${options.groups.length} groups for ${examples} examples`);
  const split: ReturnType<typeof stratifiedSplit> & { groups?: ProbeFitResult['groups'] } = options.groups
    ? groupedSplit(labels, classes, options.groups, fraction, seed)
    : stratifiedSplit(labels, classes, fraction, seed);
  const { train, heldOut } = split;
  const layers: LayerProbe[] = [];
  for (let p = 0; p < points; p++) {
    const X = features.data.subarray(p * examples * width, (p + 1) * examples * width);
    const model = fitLogistic(X, width, labels, classes, train, options);
    layers.push({
      point: p,
      trainAccuracy: accuracy(predictLogistic(model, X, train), labels, train),
      heldOutAccuracy: accuracy(predictLogistic(model, X, heldOut), labels, heldOut),
      iterations: model.iterations,
      converged: model.converged,
    });
    onLayer?.(p + 1, points);
  }
  return {
    layers,
    majority: majorityBaseline(labels, classes, train, heldOut),
    trainCount: train.length,
    heldOutCount: heldOut.length,
    classes,
    ...(split.groups ? { groups: split.groups } : {}),
  };
}
