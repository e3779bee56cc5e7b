// Uniform layouts read from the WGSL itself (after webgpu-utils' makeShaderDataDefinitions), so a
// field added or reordered in a shader's struct never needs offsets copied into TypeScript by hand.
// Handles the scalar and vector members uniforms here use: f32, u32, i32, vec2/3/4 of them.

type Scalar = 'f32' | 'u32' | 'i32';

export interface StructField {
  readonly name: string;
  readonly scalar: Scalar;
  /** Components: 1 for a scalar, 2–4 for a vector. */
  readonly count: number;
  /** Byte offset in the struct. */
  readonly offset: number;
}

export interface StructLayout {
  readonly name: string;
  readonly fields: ReadonlyMap<string, StructField>;
  /** Size rounded up to the struct's alignment (what one uniform binding needs). */
  readonly size: number;
}

const vectorShorthand: Record<string, Scalar> = { f: 'f32', u: 'u32', i: 'i32' };

function parseType(type: string): { scalar: Scalar; count: number } {
  const t = type.replace(/\s+/g, '');
  if (t === 'f32' || t === 'u32' || t === 'i32') return { scalar: t, count: 1 };
  const short = /^vec([234])([fui])$/.exec(t);
  if (short) return { scalar: vectorShorthand[short[2]!]!, count: Number(short[1]) };
  const long = /^vec([234])<(f32|u32|i32)>$/.exec(t);
  if (long) return { scalar: long[2] as Scalar, count: Number(long[1]) };
  throw new Error(`wgsl-struct: unsupported member type ${type}`);
}

/** The layout of `struct name { … }` in `source`, by WGSL's alignment rules for these types. */
export function structLayout(source: string, name: string): StructLayout {
  const code = source.replace(/\/\/[^\n]*/g, '');
  const body = new RegExp(`struct\\s+${name}\\s*\\{([^}]*)\\}`).exec(code)?.[1];
  if (body === undefined) throw new Error(`wgsl-struct: no struct ${name} in the shader`);
  const fields = new Map<string, StructField>();
  let offset = 0;
  let structAlign = 4;
  for (const member of body.split(',')) {
    const m = /^\s*(?:@\w+(?:\([^)]*\))?\s*)*(\w+)\s*:\s*(.+?)\s*$/.exec(member);
    if (!m) continue;
    const { scalar, count } = parseType(m[2]!);
    const align = count === 1 ? 4 : count === 2 ? 8 : 16;
    offset = Math.ceil(offset / align) * align;
    fields.set(m[1]!, { name: m[1]!, scalar, count, offset });
    offset += 4 * count;
    structAlign = Math.max(structAlign, align);
  }
  return { name, fields, size: Math.ceil(offset / structAlign) * structAlign };
}

/** Writes struct values by member name into an ArrayBuffer at a base offset. */
export class StructWriter {
  readonly #layout: StructLayout;
  readonly #f32: Float32Array;
  readonly #u32: Uint32Array;
  readonly #i32: Int32Array;

  constructor(layout: StructLayout, buffer: ArrayBuffer) {
    this.#layout = layout;
    this.#f32 = new Float32Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#i32 = new Int32Array(buffer);
  }

  /** Sets every member named in `values`; a name the struct lacks, or a wrong length, throws. */
  set(base: number, values: Readonly<Record<string, number | readonly number[]>>): void {
    for (const [name, value] of Object.entries(values)) {
      const field = this.#layout.fields.get(name);
      if (!field) throw new Error(`wgsl-struct: ${this.#layout.name} has no member ${name}`);
      const list = typeof value === 'number' ? [value] : value;
      if (list.length !== field.count) {
        throw new Error(`wgsl-struct: ${this.#layout.name}.${name} takes ${field.count} values`);
      }
      const view = field.scalar === 'f32' ? this.#f32 : field.scalar === 'u32' ? this.#u32 : this.#i32;
      view.set(list, (base + field.offset) / 4);
    }
  }
}
