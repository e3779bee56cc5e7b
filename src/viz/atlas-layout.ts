// Where every head goes in the all-heads atlas (layers down, heads across): pure geometry in CSS
// pixels, shared by the atlas component (buttons, row highlight, badges) and the state layer (the
// viewports it hands the renderer), so both agree. Thumbnails shrink until L rows and H columns fit
// both the width given and the height budget (GPT-2 XL's 48 × 25 on one screen).

export interface AtlasThumb {
  readonly layer: number;
  readonly head: number;
  /** Top-left corner of the square, relative to the canvas. */
  readonly x: number;
  readonly y: number;
  readonly size: number;
}

export interface AtlasLayout {
  readonly nLayer: number;
  readonly nHead: number;
  /** Side of each thumbnail, px. */
  readonly cell: number;
  /** Space between thumbnails, px. */
  readonly gap: number;
  /** Width of the layer labels at the left of the canvas ("L47"), px; 0 when not shown. */
  readonly rowLabel: number;
  /** Height of the head labels above the canvas ("H24"), px; 0 when not shown. */
  readonly colLabel: number;
  /** The canvas: thumbnails only (the labels sit outside it). */
  readonly width: number;
  readonly height: number;
  /** Row-major: layer · nHead + head. */
  readonly thumbs: readonly AtlasThumb[];
}

export interface AtlasOptions {
  readonly minCell?: number;
  readonly maxCell?: number;
}

/** L × H squares that fit `width` × `height` (CSS px, labels included), as large as allowed. */
export function atlasLayout(
  nLayer: number,
  nHead: number,
  width: number,
  height: number,
  options: AtlasOptions = {},
): AtlasLayout {
  const { minCell = 4, maxCell = 160 } = options;
  const L = Math.max(1, nLayer);
  const H = Math.max(1, nHead);
  const size = (gap: number, rowLabel: number, colLabel: number) =>
    Math.floor(Math.min((width - rowLabel - (H - 1) * gap) / H, (height - colLabel - (L - 1) * gap) / L));
  // Labels and wider gaps only while the squares stay big enough to read them.
  let gap = 4;
  const rowLabel = 34;
  let colLabel = 14;
  let cell = size(gap, rowLabel, colLabel);
  if (cell < 24) {
    gap = cell < 12 ? 1 : 2;
    cell = size(gap, rowLabel, colLabel);
  }
  if (cell < 10) {
    // Too small for head numbers: their strip goes, and the squares take its room.
    colLabel = 0;
    cell = size(gap, rowLabel, colLabel);
  }
  cell = Math.max(minCell, Math.min(maxCell, cell));
  const thumbs: AtlasThumb[] = [];
  for (let layer = 0; layer < L; layer++)
    for (let head = 0; head < H; head++)
      thumbs.push({ layer, head, x: head * (cell + gap), y: layer * (cell + gap), size: cell });
  return {
    nLayer: L,
    nHead: H,
    cell,
    gap,
    rowLabel,
    colLabel,
    width: H * cell + (H - 1) * gap,
    height: L * cell + (L - 1) * gap,
    thumbs,
  };
}

/** The thumbnail under (x, y) (canvas px), or undefined in a gap or outside. */
export function atlasHit(layout: AtlasLayout, x: number, y: number): AtlasThumb | undefined {
  const step = layout.cell + layout.gap;
  const head = Math.floor(x / step);
  const layer = Math.floor(y / step);
  if (head < 0 || layer < 0 || head >= layout.nHead || layer >= layout.nLayer) return undefined;
  if (x - head * step >= layout.cell || y - layer * step >= layout.cell) return undefined;
  return layout.thumbs[layer * layout.nHead + head];
}

/**
 * The layers whose row label ("L12", ~10 px tall) the atlas shows: every one while rows are at
 * least `minPitch` px apart (a label box is 12 px tall), else every 2nd, 5th, 10th… (GPT-2 XL's
 * 48 rows in a laptop's pane), and always the `current` layer (the depth scrubber's), the others
 * too near it left out.
 */
export function atlasRowLabels(layout: AtlasLayout, current: number, minPitch = 12): number[] {
  const pitch = layout.cell + layout.gap;
  const step = [1, 2, 5, 10, 20, 50].find((s) => s * pitch >= minPitch) ?? 100;
  const out: number[] = [];
  for (let l = 0; l < layout.nLayer; l++)
    if (l === current || (l % step === 0 && Math.abs(l - current) * pitch >= minPitch)) out.push(l);
  return out;
}
