// The bench page's HTTP server on 127.0.0.1: the page (bench/peers/page.ts bundled by esbuild), the
// WGSL library as JSON, the checkpoints in the hub layout, and the peers' own dist files (ORT's
// .mjs/.wasm under /ort/, TensorFlow.js's UMD scripts under /tfjs/), all from this machine.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { peerEsbuild, peersDir } from './install';

const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
};

const page = `<!doctype html><meta charset="utf-8"><title>bench:peers</title>
<script src="/tfjs/tfjs-core/dist/tf-core.min.js"></script>
<script src="/tfjs/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js"></script>
<script type="module" src="/page.js"></script>`;

export interface PeerServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startServer(shaders: Record<string, string>, modelsDir: string): Promise<PeerServer> {
  const esbuild = await peerEsbuild();
  const built = await esbuild.build({
    entryPoints: [join(peersDir, 'page.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    external: ['/ort/*'],
    logLevel: 'warning',
  });
  const pageJs = built.outputFiles![0]!.text;
  const shadersJson = JSON.stringify(shaders);
  const roots: [string, string][] = [
    ['/ort/', join(peersDir, 'node_modules', 'onnxruntime-web', 'dist')],
    ['/tfjs/', join(peersDir, 'node_modules', '@tensorflow')],
    ['/models/', modelsDir],
  ];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (type: string, body: string) => res.writeHead(200, { 'content-type': type }).end(body);
    if (path === '/') return send('text/html', page);
    if (path === '/page.js') return send('text/javascript', pageJs);
    if (path === '/shaders.json') return send('application/json', shadersJson);
    for (const [prefix, dir] of roots) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) break;
      res.writeHead(200, {
        'content-type': types[extname(file)] ?? 'application/octet-stream',
        'content-length': statSync(file).size,
      });
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404).end(`not found: ${path}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
