// Perceptual colormaps for the heatmaps, from d3-scale-chromatic (the matplotlib maps: uniform in
// lightness, readable in grayscale and by most colour-blind viewers), sampled into 256-entry RGBA8
// lookup tables. The renderer uploads a table as a 256×1 texture and the fragment shader picks
// entry round(x·255); tests compute the expected pixel colours from the same tables.

import {
  interpolateCividis,
  interpolateInferno,
  interpolateMagma,
  interpolatePlasma,
  interpolatePuOr,
  interpolateRdBu,
  interpolateViridis,
} from 'd3-scale-chromatic';

export const colormapNames = ['viridis', 'magma', 'inferno', 'plasma', 'cividis'] as const;
export type ColormapName = (typeof colormapNames)[number];
/**
 * Diverging maps for differences (A − B), neutral in the middle: 'rdbu' runs blue (B more) → red
 * (A more), 'puor' purple → orange (readable with red–green colour blindness too).
 */
export const divergingColormapNames = ['rdbu', 'puor'] as const;
export type DivergingColormapName = (typeof divergingColormapNames)[number];
export type AnyColormapName = ColormapName | DivergingColormapName;

const interpolators: Readonly<Record<AnyColormapName, (t: number) => string>> = {
  viridis: interpolateViridis,
  magma: interpolateMagma,
  inferno: interpolateInferno,
  plasma: interpolatePlasma,
  cividis: interpolateCividis,
  // d3's RdBu and PuOr run red → blue and orange → purple: reversed, so that positive is warm.
  rdbu: (t) => interpolateRdBu(1 - t),
  puor: (t) => interpolatePuOr(1 - t),
};

/** Entries in a lookup table: one per 8-bit level. */
export const colormapSize = 256;

/** d3's colours come as `#rrggbb` (the sampled ramps) or `rgb(r, g, b)` (cividis's polynomial). */
function parseColor(css: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css);
  if (hex) return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16)];
  const rgb = /^rgb\(\s*([\d.]+),\s*([\d.]+),\s*([\d.]+)\s*\)$/.exec(css);
  if (rgb) return [Math.round(Number(rgb[1])), Math.round(Number(rgb[2])), Math.round(Number(rgb[3]))];
  throw new Error(`unexpected colour from d3-scale-chromatic: ${css}`);
}

const tables = new Map<AnyColormapName, Uint8Array<ArrayBuffer>>();

/** The colormap as 256 RGBA8 entries (alpha 255), entry i = the map at i/255. Cached; do not modify. */
export function colormapTable(name: AnyColormapName): Uint8Array<ArrayBuffer> {
  let table = tables.get(name);
  if (!table) {
    const interpolate = interpolators[name];
    table = new Uint8Array(colormapSize * 4);
    for (let i = 0; i < colormapSize; i++) {
      table.set([...parseColor(interpolate(i / (colormapSize - 1))), 255], 4 * i);
    }
    tables.set(name, table);
  }
  return table;
}

/** The table entry the heatmap shader picks for a value scaled to [0, 1]: floor(x·255 + 0.5), as in WGSL. */
export function colormapIndex(x: number): number {
  return Math.round(Math.min(1, Math.max(0, x)) * (colormapSize - 1));
}

/** The entry a difference heatmap picks for x in [−1, 1] (heatmap_diff.wgsl): 0 is the middle. */
export function divergingIndex(x: number): number {
  return colormapIndex(0.5 * (x + 1));
}

/** The colour of a value in [0, 1] as [r, g, b] bytes. */
export function colormapColor(name: AnyColormapName, x: number): [number, number, number] {
  const i = 4 * colormapIndex(x);
  const t = colormapTable(name);
  return [t[i]!, t[i + 1]!, t[i + 2]!];
}

/** A CSS linear-gradient of the map, for legends. */
export function colormapGradient(name: AnyColormapName, direction = 'to right'): string {
  const t = colormapTable(name);
  const stops = Array.from({ length: 9 }, (_, k) => {
    const i = 4 * Math.round((k / 8) * (colormapSize - 1));
    return `rgb(${t[i]}, ${t[i + 1]}, ${t[i + 2]}) ${(k / 8) * 100}%`;
  });
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}
