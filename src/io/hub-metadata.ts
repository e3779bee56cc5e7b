// What the hub states about a file before it is downloaded: its size and, for LFS files, its
// SHA-256, so that a download can be checked as it streams (src/io/download.ts).
//
// The hub says it two ways:
// - the resolve URL's response to HEAD, before its redirect to the CDN: `X-Linked-Size` and
//   `X-Linked-Etag` (the file's sha256) for LFS files, Content-Length and a git-id ETag otherwise.
//   Node can read the redirect's headers (redirect: 'manual'); a browser's fetch hides them;
// - the model API's listing, `GET /api/models/<repo>/revision/<rev>?blobs=true`: each sibling's
//   `size` and, for LFS files, `lfs.sha256`. Browsers use this one (the hub allows it cross-origin).
// Without either, the download trusts Content-Length / Content-Range alone.

import type { ExpectedFile } from './download';

/** The statement for one file of the repository, or undefined when the hub says nothing usable. */
export type HubMetadata = (file: string) => Promise<ExpectedFile | undefined>;

const sha256Hex = /^[0-9a-f]{64}$/;

/**
 * A SHA-256 from an ETag-like header: `"<64 hex>"`, possibly weak (`W/`). A 40-hex ETag is a git
 * blob id (SHA-1 of a header and the bytes), not a hash of the file: undefined.
 */
export function sha256OfEtag(header: string | null): string | undefined {
  if (!header) return undefined;
  const value = header
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
  return sha256Hex.test(value) ? value : undefined;
}

function count(header: string | null | undefined): number | undefined {
  return header && /^\d+$/.test(header) ? Number(header) : undefined;
}

/** Node: a HEAD of each resolve URL that does not follow the redirect. Failures say nothing. */
export function headMetadata(
  urlOf: (file: string) => string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): HubMetadata {
  return async (file) => {
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
    if (options.signal) signals.push(options.signal);
    let response: Response;
    try {
      response = await fetch(urlOf(file), {
        method: 'HEAD',
        redirect: 'manual',
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return undefined; // offline or stalled: the download itself will say what is wrong
    }
    const h = response.headers;
    const linkedSize = count(h.get('x-linked-size'));
    const linkedSha = sha256OfEtag(h.get('x-linked-etag')) ?? sha256OfEtag(h.get('etag'));
    if (linkedSize !== undefined) return { size: linkedSize, sha256: linkedSha };
    if (response.status !== 200) return undefined; // a redirect without X-Linked-*, a 404, …
    const encoded = (h.get('content-encoding') ?? 'identity') !== 'identity';
    return { size: encoded ? undefined : count(h.get('content-length')), sha256: linkedSha };
  };
}

interface Sibling {
  rfilename?: unknown;
  size?: unknown;
  lfs?: { sha256?: unknown; size?: unknown } | null;
}

/**
 * Browsers: the model API's listing, fetched once on first use. A hub (or mirror) without the API,
 * or no network, says nothing: the download falls back to what the responses announce.
 */
export function listingMetadata(
  endpoint: string,
  repo: string,
  revision: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): HubMetadata {
  let listing: Promise<Map<string, ExpectedFile> | undefined> | undefined;
  const load = async (): Promise<Map<string, ExpectedFile> | undefined> => {
    const base = endpoint.replace(/\/+$/, '');
    const url = `${base}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
    if (options.signal) signals.push(options.signal);
    try {
      const response = await fetch(url, { signal: AbortSignal.any(signals) });
      if (!response.ok) return undefined;
      const json = (await response.json()) as { siblings?: unknown };
      if (!Array.isArray(json.siblings)) return undefined;
      const files = new Map<string, ExpectedFile>();
      for (const sibling of json.siblings as Sibling[]) {
        if (typeof sibling.rfilename !== 'string') continue;
        const lfsSize = typeof sibling.lfs?.size === 'number' ? sibling.lfs.size : undefined;
        const size = lfsSize ?? (typeof sibling.size === 'number' ? sibling.size : undefined);
        const sha = typeof sibling.lfs?.sha256 === 'string' ? sibling.lfs.sha256.toLowerCase() : '';
        files.set(sibling.rfilename, {
          size: Number.isSafeInteger(size) && size! >= 0 ? size : undefined,
          sha256: sha256Hex.test(sha) ? sha : undefined,
        });
      }
      return files;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return undefined;
    }
  };
  return async (file) => {
    listing ??= load();
    return (await listing)?.get(file);
  };
}
