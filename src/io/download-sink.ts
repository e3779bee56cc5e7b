// Where a download's bytes go (src/io/download.ts): the one type the download and its guards
// (src/io/download-guards.ts) both use, in a module of its own so that neither imports the other back.

/** Where a download's bytes go: memory, or a cache entry that may hold the start of the file already. */
export interface ByteSink {
  /** Bytes held so far: the download asks for the rest. */
  readonly size: number;
  write(chunk: Uint8Array<ArrayBuffer>): Promise<void>;
  /** Drops everything held: the server is sending the file again from its first byte. */
  reset(): Promise<void>;
  /**
   * The bytes held, in order: lets a download that resumes an earlier run's partial file hash it
   * once. A sink without it is restarted when a SHA-256 is to be checked.
   */
  readBack?(): AsyncIterable<Uint8Array>;
}
