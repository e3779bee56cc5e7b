// No import cycle anywhere in src/: the layers import one way (docs/ARCHITECTURE.md), and within a
// layer too, so every module can be read, tested and loaded after the ones it uses. Type-only
// imports and re-exports count (a cycle through types still ties the two files together), and so do
// dynamic imports; .svelte components are read through their <script> blocks. The imports are read by
// TypeScript's own pre-processor, which sees the same specifiers the compiler does.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const srcDir = join(root, 'src');

/** Every .ts and .svelte file under `dir` (.svelte.ts included), as absolute paths. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|svelte)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The script of a file: a .svelte component's <script> blocks, any other file whole. */
function scriptOf(path: string): string {
  const text = readFileSync(path, 'utf8');
  if (!path.endsWith('.svelte')) return text;
  return [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
}

/** The specifiers `source` imports or re-exports: static, type-only and dynamic. */
function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The file a relative specifier names, as Vite and TypeScript resolve it; undefined for packages and assets. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier.replace(/\?.*$/, ''));
  const candidates = [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), join(base, 'index.ts')];
  return candidates.find((c) => /\.(ts|svelte)$/.test(c) && existsSync(c) && statSync(c).isFile());
}

/** The cycles of a graph, one per strongly connected component of more than one file (or a self-import). */
function findCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm (recursive: the import chains of src/ are a few dozen files deep at most).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components;
}

function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(dir)) {
    const targets = importSpecifiers(scriptOf(file))
      .map((s) => resolveImport(file, s))
      .filter((t): t is string => t !== undefined);
    graph.set(relative(root, file), [...new Set(targets.map((t) => relative(root, t)))]);
  }
  return graph;
}

describe('import cycles', () => {
  it('reads type-only imports, re-exports and dynamic imports', () => {
    const source = [
      "import type { A } from './a';",
      "import { type B, c } from './b';",
      "export type { D } from './d';",
      "export { e } from './e';",
      "const f = await import('./f');",
      "import './g.css';",
      '// import { h } from "./h";',
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['./a', './b', './d', './e', './f', './g.css']);
  });

  it('finds a cycle through types and leaves a chain alone', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(cyclic)).toEqual([['a', 'b', 'c']]);
    expect(findCycles(new Map([['a', ['a']]]))).toEqual([['a']]);
    expect(
      findCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('src/ has none, .svelte and .svelte.ts files included', () => {
    const graph = importGraph(srcDir);
    // The walk reaches the files it must: components, rune modules and their imports resolved.
    expect(graph.get('src/App.svelte')).toContain('src/state/studio.svelte.ts');
    expect(graph.get('src/io/download.ts')).toContain('src/io/download-guards.ts');
    expect(findCycles(graph)).toEqual([]);
  });
});
