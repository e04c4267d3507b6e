import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../oci/errors.js';

/** Helpers shared by the API handlers: responses, bodies, paging, ranges. */

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length, ...headers });
  res.end(data);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

export function sendError(req: IncomingMessage, res: ServerResponse, err: RegistryError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...err.headers };
  // A body we did not read would otherwise be drained before the connection can be reused.
  if (!req.complete) headers.Connection = 'close';
  const body = req.method === 'HEAD' ? undefined : Buffer.from(JSON.stringify(err.toJSON()));
  res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': body?.length ?? 0, ...headers });
  res.end(body);
}

/** Reads a whole (small) request body, refusing anything over `limit` bytes with 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new RegistryError('MANIFEST_TOO_LARGE', `body exceeds the limit of ${limit} bytes`, { detail: { limit } });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export interface Page {
  n: number | undefined;
  last: string;
}

/** Reads `n` and `last` of a paged listing. */
export function parsePage(url: URL): Page {
  const rawN = url.searchParams.get('n');
  let n: number | undefined;
  if (rawN !== null && rawN !== '') {
    if (!/^\d+$/.test(rawN)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, got ${JSON.stringify(rawN)}`);
    n = Math.min(Number(rawN), 100_000);
  }
  return { n, last: url.searchParams.get('last') ?? '' };
}

/** `Link: <path?n=N&last=X>; rel="next"`, as the spec pages listings. */
export function nextLink(path: string, n: number, last: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ ...extra, n: String(n), last });
  return `<${path}?${q.toString()}>; rel="next"`;
}

/**
 * Parses a single `Range: bytes=…` header against a resource of `size` bytes. Returns undefined
 * when the whole resource should be sent (no header, several ranges), throws 416 when unsatisfiable.
 */
export function parseByteRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) {
    if (header.includes(',')) return undefined;
    throw rangeNotSatisfiable(size, `malformed Range header ${JSON.stringify(header)}`);
  }
  const [, a, b] = m;
  let start: number;
  let end: number;
  if (a === '' && b === '') throw rangeNotSatisfiable(size, 'empty range');
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) throw rangeNotSatisfiable(size, 'zero-length suffix range');
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || end < start) throw rangeNotSatisfiable(size, `range ${header} outside 0-${size - 1}`);
  return { start, end };
}

function rangeNotSatisfiable(size: number, message: string): RegistryError {
  return new RegistryError('RANGE_INVALID', message, { headers: { 'Content-Range': `bytes */${size}` } });
}
