import { afterAll, describe, expect, test } from 'vitest';
import { acquireGpu, WebGpuUnavailableError, type GpuContext } from '../src/gpu/device';
import { nodeGpu } from '../src/cli/node-gpu';

describe('WebGPU device acquisition in Node', () => {
  let ctx: GpuContext | undefined;
  afterAll(() => ctx?.device.destroy());

  test('finds an adapter and gets its full buffer limits', async () => {
    // A missing adapter fails this test: kernel tests are meaningless without one.
    ctx = await nodeGpu();
    expect(ctx.device.limits.maxStorageBufferBindingSize).toBe(ctx.summary.maxStorageBufferBindingSize);
    expect(ctx.summary.maxBufferSize).toBeGreaterThanOrEqual(256 * 2 ** 20);
    // Round trip through a compute shader proves the device really runs work.
    const { device } = ctx;
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
             @compute @workgroup_size(4) fn main(@builtin(global_invocation_id) i: vec3u) { x[i.x] = x[i.x] * 2.0 + 1.0; }`,
    });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const buf = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Float32Array(buf.getMappedRange()).set([1, 2, 3, 4]);
    buf.unmap();
    const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: buf } }],
      }),
    );
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, 16);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    expect([...new Float32Array(read.getMappedRange())]).toEqual([3, 5, 7, 9]);
  });

  test('no WebGPU at all gives a specific error with help', async () => {
    const err = await acquireGpu(undefined, { environment: 'Firefox 115' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGpuUnavailableError);
    expect((err as WebGpuUnavailableError).problem).toBe('no-api');
    expect((err as Error).message).toBe('Firefox 115 has no WebGPU (navigator.gpu is missing).');
    expect((err as WebGpuUnavailableError).help).toContain('--enable-unsafe-webgpu');
  });
});
