// One error type for everything that can go wrong while finding, fetching and parsing a model.
// The message always names the file and the problem, so the UI and the CLI can show it as is.

export type ModelErrorKind =
  | 'truncated' // the file ends before what its header promises
  | 'corrupt' // bytes that cannot be what the format says (bad header, overlapping data, NaN sizes)
  | 'unsupported' // a valid file we do not handle (dtype, architecture, activation)
  | 'missing' // a required tensor or file is absent
  | 'shape' // a tensor's shape disagrees with the config
  | 'config' // config.json is unreadable or not a GPT-2 config
  | 'network' // HTTP status, dropped connection, offline
  | 'aborted'; // the user cancelled

export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly kind: ModelErrorKind,
    /** The file the problem is in, as the user knows it (e.g. `model.safetensors`, a URL). */
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}
