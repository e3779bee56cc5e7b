// Byte sinks for the studio's Export (no Node APIs): a WritableStream, such as the one the File
// System Access API's showSaveFilePicker() gives, which takes the export a tensor at a time without
// holding it; and a Blob built from parts, for browsers without that API (the parts stay in memory,
// but never as one contiguous buffer). The CLI's file sink is src/cli/export-file.ts.

import type { ByteSink } from './tensors';

/** A sink writing to `stream`; close() closes it, abort(reason) aborts it (no partial file kept). */
export function streamSink(stream: WritableStream<Uint8Array>): ByteSink & {
  close(): Promise<void>;
  abort(reason: unknown): Promise<void>;
} {
  const writer = stream.getWriter();
  return {
    async write(bytes) {
      // The stream may hold on to the chunk: give it a copy of views into buffers we reuse.
      await writer.write(bytes.slice());
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  };
}

/** A sink gathering the bytes as Blob parts; blob() gives the file. */
export function blobSink(type = 'application/octet-stream'): ByteSink & { blob(): Blob } {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  return {
    write(bytes) {
      parts.push(bytes.slice());
      return Promise.resolve();
    },
    blob: () => new Blob(parts, { type }),
  };
}
