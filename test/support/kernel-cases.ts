// Small GPT-2 shapes that between them take every kernel path: the fallback vec4 kernels, the
// scalar ones (a head size that is not a multiple of 4) and the tiled ones.
import { gpt2Config } from '../../src/model/fixtures';

export const kernelCases = [
  {
    name: 'fallback vec4 kernels, D=48, H=3',
    config: gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 48, nCtx: 24, vocabSize: 300 }),
    fallbackKernels: true,
  },
  {
    name: 'fallback scalar kernels, D=30, HD=10',
    config: gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 30, nCtx: 16, vocabSize: 130 }),
    fallbackKernels: true,
  },
  {
    name: 'tiled kernels, D=32, H=2',
    config: gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 24, vocabSize: 200 }),
    fallbackKernels: false,
  },
];
