// WebGPU in Node through Dawn (the `webgpu` package). On a machine without a GPU Dawn finds no
// adapter by itself; pointing the Vulkan loader at the SwiftShader driver that Debian's chromium
// package ships gives the same CPU adapter the browser tests use (docs/webgpu-on-cpu.md). On a machine
// with a GPU nothing needs setting. Needs the Vulkan loader (Debian: libvulkan1) on Linux.

import { existsSync } from 'node:fs';
import { acquireGpu, type GpuContext } from '../gpu/device';

const swiftshaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';

// Dawn's instance must outlive every adapter and device made from it: if the GPU object is garbage
// collected, the process dies at the next collection (a futex error or std::system_error). Held here.
let instance: GPU | undefined;

/** Dawn's GPU object (what navigator.gpu is in a browser), created once per process. */
export async function nodeGpuApi(): Promise<GPU> {
  if (!instance) {
    // The Vulkan loader reads this when Dawn creates its instance, so setting it here is in time.
    if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(swiftshaderIcd)) {
      process.env.VK_ICD_FILENAMES = swiftshaderIcd;
    }
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    instance = create([]);
  }
  return instance;
}

export async function nodeGpu(): Promise<GpuContext> {
  return acquireGpu(await nodeGpuApi(), { environment: 'Node (Dawn)' });
}
