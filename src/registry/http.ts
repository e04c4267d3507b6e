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
    new RegistryError('MANIFEST_INVALID', `body exceeds the limit of ${limit} bytes`, { status: 413, detail: { limit } });
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

/**
 * Reads a small JSON request body that must be an object (admin, import and attribute PATCH
 * bodies); anything else is a 400 naming `what` the body should have been.
 */
export async function readJsonObject(req: IncomingMessage, limit: number, what = 'a JSON object'): Promise<Record<string, unknown>> {
  const bytes = await readBody(req, limit);
  const bad = (message: string) => new RegistryError('UNSUPPORTED', message, { status: 400 });
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw bad(`body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad(`body must be ${what}`);
  return doc as Record<string, unknown>;
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
    if (!/^\d+$/.test(rawN)) throw new RegistryError('UNSUPPORTED', `n must be a non-negative integer, got ${JSON.stringify(rawN)}`, { status: 400 });
    n = Math.min(Number(rawN), 100_000);
  }
  return { n, last: url.searchParams.get('last') ?? '' };
}

/**
 * A page of a sorted listing: asks `fetch` for one more than `n` to know whether a next page (and
 * so a `Link` header) exists. `keyOf` is what the next page's `last` names; `extra` are query
 * parameters the Link carries over (an order, a filter).
 */
export function pageOf<T>(
  url: URL,
  path: string,
  defaultN: number | undefined,
  fetch: (after: string, limit: number) => T[],
  keyOf: (item: T) => string,
  extra: Record<string, string> = {},
): { items: T[]; link: string | undefined } {
  const { n: asked, last } = parsePage(url);
  const n = asked ?? defaultN;
  if (n === undefined) return { items: fetch(last, -1), link: undefined };
  if (n === 0) return { items: [], link: undefined };
  const items = fetch(last, n + 1);
  if (items.length <= n) return { items, link: undefined };
  items.length = n;
  return { items, link: nextLink(path, n, keyOf(items[n - 1]!), extra) };
}

/** `Link: <path?n=N&last=X>; rel="next"`, as the spec pages listings. */
export function nextLink(path: string, n: number, last: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ ...extra, n: String(n), last });
  return `<${path}?${q.toString()}>; rel="next"`;
}

/**
 * Reads a `Range` header against a resource of `size` bytes, as RFC 9110 §14 asks: a single
 * satisfiable byte range is served with 206; a range that starts past the end is unsatisfiable
 * (416); anything else (no header, another unit, several ranges, bad syntax) is ignored and the
 * whole resource is sent.
 */
export function parseByteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '') {
    if (b === '') return undefined;
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  if (b !== '' && Number(b) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: b === '' ? size - 1 : Math.min(Number(b), size - 1) };
}
