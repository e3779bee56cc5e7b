// The Chromium that e2e tests drive, and the flags that give it WebGPU on a machine without a GPU
// (SwiftShader; see docs/webgpu-on-cpu.md). On a machine with a GPU, CHROME_PATH can name a local Chrome.

export const chromiumPath = process.env.CHROME_PATH ?? '/usr/bin/chromium';

/** Flags shared by every launch: headless, quiet, no network of its own. */
export const baseArgs = [
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** WebGPU on SwiftShader: all three Vulkan/ANGLE flags, or canvases lose their device. */
export const webgpuArgs = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
];

export const chromiumArgs = [...baseArgs, ...webgpuArgs];
