// WGSL sources by file name (without `.wgsl`; shaders/ is sorted into folders by job — forward/,
// lens/, instruments/, render/ — but names are unique across them, so a kernel is named by its file). The browser build and vitest get them from Vite
// (shaders-vite.ts); the Node CLI reads the files (src/cli/node-shaders.ts). The engine only sees
// this record, so it runs the same in both.
export type ShaderLibrary = Readonly<Record<string, string>>;

/** Builds a library from paths like `../../shaders/forward/matmul_tiled.wgsl` → source. */
export function libraryFromPaths(files: Readonly<Record<string, string>>): ShaderLibrary {
  const lib: Record<string, string> = {};
  for (const [path, source] of Object.entries(files)) {
    const name = /([^/\\]+)\.wgsl$/.exec(path)?.[1];
    if (!name) continue;
    if (name in lib)
      throw new Error(`Two WGSL files are named ${name}.wgsl: shader names must be unique across shaders/.`);
    lib[name] = source;
  }
  return lib;
}
