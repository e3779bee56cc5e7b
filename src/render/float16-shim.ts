// webgpu-utils 2 names Float16Array (the views of WGSL's f16 types) as it loads; Node 20, the
// project's minimum, has no such global (Chromium and Node ≥ 24 do). No uniform struct here has an
// f16 member, so where the global is missing a stand-in that refuses to be constructed lets the
// module load. Import this before webgpu-utils.

const g = globalThis as { Float16Array?: unknown };
if (typeof g.Float16Array === 'undefined') {
  g.Float16Array = class Float16Unavailable extends Uint16Array {
    constructor() {
      super(0);
      throw new Error('Float16Array is missing in this JavaScript runtime: f16 uniforms need a newer one');
    }
  };
}
