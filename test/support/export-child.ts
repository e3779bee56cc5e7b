// A child process for the export tests that need one (a file size limit set with prlimit applies to
// a whole process): writes every hook of a small random model to OUT as FORMAT through the file
// sink, and prints the error's message on stderr with exit status 1 if the write fails.
// usage: tsx test/support/export-child.ts OUT safetensors|npz
import { writeFileAtomically } from '../../src/cli/export-file';
import { cacheTensors, writeCapture, type ExportFormat } from '../../src/io/export/capture-export';
import { gpt2Config } from '../../src/model/fixtures';
import { allHookNames } from '../../src/model/hook-names';
import { runWithCache } from '../../src/model/reference-hooks';
import { randomTokens, sharpWeights } from './tiny-models';

const [out, format] = process.argv.slice(2) as [string, ExportFormat];
const config = gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 32, nCtx: 16, vocabSize: 97, nInner: 80 });
const tokens = randomTokens(16, config.vocabSize, 1);
const cache = runWithCache(sharpWeights(config, 1), tokens, allHookNames(config.nLayer), { logits: 'all' });
try {
  const bytes = await writeFileAtomically(out, (sink) =>
    writeCapture(format, cacheTensors(cache), sink, {
      description: { model: 'tiny', tokens, logits: 'all' },
    }),
  );
  process.stdout.write(`${bytes}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
