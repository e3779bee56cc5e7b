// WebGPU adapter and device acquisition, shared by the browser app and the Node CLI.
// Requests the adapter's own limits (GPT-2's f32 token embedding alone is 154 MB, above the
// 128 MiB default binding size), accepts fallback adapters (SwiftShader on machines without a
// GPU), and turns every way of not getting a device into a message a person can act on.

export type WebGpuProblem = 'no-api' | 'insecure-context' | 'no-adapter' | 'device-failed';

export class WebGpuUnavailableError extends Error {
  override readonly name = 'WebGpuUnavailableError';
  constructor(
    readonly problem: WebGpuProblem,
    message: string,
    /** What the user can do about it: which browser, which flag. */
    readonly help: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The GPU refused memory (an out-of-memory error scope fired, or a mapped buffer could not be
 * allocated). WebGPU does not tell how much memory a GPU has, so the message says what was needed.
 */
export class GpuOutOfMemoryError extends Error {
  override readonly name = 'GpuOutOfMemoryError';
  constructor(
    /** Bytes the failed step needed in all. */
    readonly neededBytes: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the studio and the CLI report about the adapter they run on. */
export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** True for software adapters such as SwiftShader: kernels pick their barrier-free variants. */
  readonly fallback: boolean;
  readonly shaderF16: boolean;
  readonly timestampQuery: boolean;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

export interface GpuContext {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly summary: AdapterSummary;
}

export interface AcquireOptions {
  /** Request 'high-performance' (default) or 'low-power'. */
  powerPreference?: GPUPowerPreference;
  /** Browser name for messages (e.g. from the user agent); the CLI passes 'Node'. */
  environment?: string;
}

const enableHelp =
  'Use a current Chrome or Edge (113+) on Windows, macOS or ChromeOS; on Linux start Chrome with ' +
  '--enable-unsafe-webgpu --enable-features=Vulkan (or enable chrome://flags/#enable-unsafe-webgpu). ' +
  'Safari 26+ and Firefox 141+ on Windows also have WebGPU.';

/**
 * Finds an adapter and creates a device with the adapter's maximum buffer limits and the optional
 * features Strata uses (shader-f16, timestamp-query) when present.
 * @param gpu `navigator.gpu` in a browser, the `webgpu` package's GPU object in Node.
 */
export async function acquireGpu(gpu: GPU | undefined, options: AcquireOptions = {}): Promise<GpuContext> {
  const where = options.environment ?? 'This browser';
  if (!gpu) {
    if (typeof globalThis.isSecureContext === 'boolean' && !globalThis.isSecureContext) {
      throw new WebGpuUnavailableError(
        'insecure-context',
        'WebGPU needs a secure context, and this page is not one.',
        'Open the studio over https, or on http://localhost / http://127.0.0.1.',
      );
    }
    throw new WebGpuUnavailableError(
      'no-api',
      `${where} has no WebGPU (navigator.gpu is missing).`,
      enableHelp,
    );
  }
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
  });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'no-adapter',
      `${where} has WebGPU but found no GPU adapter it is willing to use.`,
      `${enableHelp} Software adapters (no GPU) are blocklisted unless --enable-unsafe-webgpu is set; check chrome://gpu.`,
    );
  }
  const features: GPUFeatureName[] = [];
  for (const f of ['shader-f16', 'timestamp-query'] as const) if (adapter.features.has(f)) features.push(f);
  const { limits } = adapter;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: 'strata',
      requiredFeatures: features,
      requiredLimits: {
        maxBufferSize: limits.maxBufferSize,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxTextureArrayLayers: limits.maxTextureArrayLayers,
        maxTextureDimension2D: limits.maxTextureDimension2D,
      },
    });
  } catch (cause) {
    throw new WebGpuUnavailableError(
      'device-failed',
      `The GPU adapter refused to create a device: ${String(cause)}`,
      'Close other GPU-heavy tabs and reload; if it persists, update the browser and graphics driver.',
      { cause },
    );
  }
  const info = adapter.info;
  return {
    adapter,
    device,
    summary: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      fallback: info.isFallbackAdapter,
      shaderF16: features.includes('shader-f16'),
      timestampQuery: features.includes('timestamp-query'),
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    },
  };
}
