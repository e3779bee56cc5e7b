// The small parts of the peers' APIs that the bench page uses, typed here so that `npm run check`
// passes where bench/peers/node_modules is not installed (the page loads the peers' own dist files
// at run time: onnxruntime-web as an ES module, TensorFlow.js as UMD scripts setting `tf`).

export interface OrtTensor {
  readonly dims: readonly number[];
  readonly location: string;
  readonly gpuBuffer: GPUBuffer;
  dispose(): void;
}

export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
  readonly inputNames: readonly string[];
}

export interface OrtModule {
  readonly env: {
    logLevel: string;
    wasm: { wasmPaths: string; numThreads: number; proxy: boolean };
    webgpu: { readonly device: Promise<GPUDevice> };
    readonly versions: Record<string, string>;
  };
  readonly Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => OrtTensor;
  readonly InferenceSession: {
    create(
      model: Uint8Array,
      options: {
        executionProviders: string[];
        graphOptimizationLevel?: string;
        preferredOutputLocation?: Record<string, string>;
        logSeverityLevel?: number;
        logVerbosityLevel?: number;
      },
    ): Promise<OrtSession>;
  };
}

export interface TfTensor {
  readonly shape: number[];
  data(): Promise<Float32Array>;
  dispose(): void;
}

type Rank = number[];

export interface TfModule {
  readonly version_core: string;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tidy<T extends TfTensor>(f: () => T): T;
  tensor(values: Float32Array, shape: number[]): TfTensor;
  tensor1d(values: Int32Array, dtype: 'int32'): TfTensor;
  scalar(value: number): TfTensor;
  gather(x: TfTensor, indices: TfTensor, axis?: number): TfTensor;
  slice(x: TfTensor, begin: Rank, size: Rank): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  sub(a: TfTensor, b: TfTensor): TfTensor;
  mul(a: TfTensor, b: TfTensor): TfTensor;
  tanh(x: TfTensor): TfTensor;
  rsqrt(x: TfTensor): TfTensor;
  softmax(x: TfTensor): TfTensor;
  matMul(a: TfTensor, b: TfTensor, transposeA?: boolean, transposeB?: boolean): TfTensor;
  reshape(x: TfTensor, shape: Rank): TfTensor;
  transpose(x: TfTensor, perm: Rank): TfTensor;
  unstack(x: TfTensor, axis?: number): TfTensor[];
  moments(x: TfTensor, axis: number, keepDims: boolean): { mean: TfTensor; variance: TfTensor };
  engine(): { backend: { device?: GPUDevice } };
  disposeVariables(): void;
}
