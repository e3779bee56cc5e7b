// The train / held-out split of examples that come in groups (the template instance each was
// written from: a sentence frame, a sentence with several probed words): whole groups are held out,
// so no group has examples on both sides and a probe cannot pass the test by recognising a
// sentence it was trained on. Pure TypeScript, seeded like stratifiedSplit (probe-fit.ts).

import { mulberry32 } from '../model/random';

/**
 * A seeded split by group: the groups are shuffled and the first round((1 − trainFraction)·G) of
 * them held out (at least one, and at least one left to train on). Not stratified: a group holds
 * what it holds (the shipped syntax datasets balance the labels within every group). Every label
 * must be left with a training example. Indices come back sorted.
 */
export function groupedSplit(
  labels: ArrayLike<number>,
  classes: number,
  groups: ArrayLike<number>,
  trainFraction: number,
  seed: number,
): { train: Int32Array; heldOut: Int32Array; groups: { train: number; heldOut: number } } {
  if (!(trainFraction > 0 && trainFraction < 1))
    throw new RangeError(`trainFraction must be between 0 and 1 (exclusive), not ${trainFraction}`);
  if (groups.length !== labels.length)
    throw new RangeError(`${groups.length} groups for ${labels.length} examples`);
  const members = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes)
      throw new RangeError(`label ${c} of example ${i} is not in [0, ${classes})`);
    const g = groups[i]!;
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  }
  const ids = [...members.keys()].sort((a, b) => a - b);
  const G = ids.length;
  if (G < 2)
    throw new RangeError(`all ${labels.length} examples are in one group: nothing is left to hold out`);
  // Fisher–Yates with the seeded generator.
  const random = mulberry32(seed);
  for (let i = G - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const nOut = Math.min(G - 1, Math.max(1, Math.round((1 - trainFraction) * G)));
  const heldOut = ids.slice(0, nOut).flatMap((g) => members.get(g)!);
  const train = ids.slice(nOut).flatMap((g) => members.get(g)!);
  const seen = new Set(train.map((i) => labels[i]!));
  for (let c = 0; c < classes; c++)
    if (!seen.has(c) && heldOut.some((i) => labels[i] === c))
      throw new RangeError(
        `label ${c} has no training example with this split (its groups are all held out); ` +
          'try another seed or more groups',
      );
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { train: sorted(train), heldOut: sorted(heldOut), groups: { train: G - nOut, heldOut: nOut } };
}
