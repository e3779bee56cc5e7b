// WGSL sources by file name (without `.wgsl`). The browser build and vitest get them from Vite
// (shaders-vite.ts); the Node CLI reads the files (src/cli/node-shaders.ts). The engine only sees
// this record, so it runs the same in both.
export type ShaderLibrary = Readonly<Record<string, string>>;

/** Builds a library from paths like `../../shaders/matmul_tiled.wgsl` → source. */
export function libraryFromPaths(files: Readonly<Record<string, string>>): ShaderLibrary {
  const lib: Record<string, string> = {};
  for (const [path, source] of Object.entries(files)) {
    const name = /([^/\\]+)\.wgsl$/.exec(path)?.[1];
    if (name) lib[name] = source;
  }
  return lib;
}
