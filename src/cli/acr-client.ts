/**
 * The one way the metadata commands talk to a registry over HTTP. Every request goes through
 * `acrRequest`, which uses the registry client for credentials and auth challenges.
 */
import { RegistryClient, RegistryClientError } from '../client/registry-client.js';

export interface RegistryEndpoint {
  /** host[:port] */
  host: string;
  /** Use http:// even for a host that is not on loopback. */
  plainHttp: boolean;
}

export interface AcrResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

const clients = new Map<string, RegistryClient>();

function clientFor(registry: RegistryEndpoint): RegistryClient {
  const key = `${registry.host} ${registry.plainHttp}`;
  let c = clients.get(key);
  if (!c) {
    c = new RegistryClient(registry.host, { plainHttp: registry.plainHttp });
    clients.set(key, c);
  }
  return c;
}

/** The token scopes a metadata request needs, read off its method and path. */
export function scopesFor(method: string, path: string): string[] {
  const p = path.split('?', 1)[0]!;
  if (/^\/(acr\/v1|v2)\/_catalog$/.test(p)) return ['registry:catalog:*'];
  const m = /^\/acr\/v1\/(.+?)(?:\/_tags(?:\/[^/]+)?|\/_manifests(?:\/[^/]+)?)?$/.exec(p) ?? /^\/v2\/(.+?)\/(?:manifests|tags|blobs)\/.*$/.exec(p);
  if (!m) return [];
  const name = decodeURIComponent(m[1]!);
  const action = method === 'DELETE' ? 'delete' : method === 'GET' || method === 'HEAD' ? (p.startsWith('/v2/') ? 'pull' : 'metadata_read') : 'metadata_write';
  return [`repository:${name}:${action}`];
}

/** Every status the caller handles itself (the client still re-authenticates on 401 and retries 5xx and 429). */
const ANSWERS = Array.from({ length: 300 }, (_, i) => 200 + i).filter((s) => s !== 401 && s !== 429);

/**
 * One request, with the stored login (docker's config.json) and the registry's auth challenge
 * followed; a non-2xx answer becomes an Error carrying the registry's own code and message.
 */
export async function acrRequest(registry: RegistryEndpoint, method: string, path: string, body?: unknown): Promise<AcrResponse> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await clientFor(registry).request({
      method,
      path,
      headers,
      body: body === undefined ? undefined : () => Buffer.from(JSON.stringify(body)),
      scopes: scopesFor(method, path),
      ok: ANSWERS,
    });
  } catch (e) {
    if (e instanceof RegistryClientError) throw new Error(`${e.message.replace(/^[^ ]+: /, '')} (${method} ${decodeURIComponent(path)})`);
    throw e;
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    const first = (parsed as { errors?: { code?: string; message?: string }[] } | undefined)?.errors?.[0];
    const reason = first ? `${first.code}: ${first.message}` : `HTTP ${res.status}`;
    throw new Error(`${reason} (${method} ${decodeURIComponent(path)})`);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Follows `Link: <…>; rel="next"` and gathers the `key` array of every page, stopping at `top` items. */
export async function acrList<T>(registry: RegistryEndpoint, path: string, key: string, top?: number): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined = path;
  while (next !== undefined && (top === undefined || items.length < top)) {
    const res: AcrResponse = await acrRequest(registry, 'GET', next);
    items.push(...(((res.body as Record<string, unknown>)[key] as T[] | undefined) ?? []));
    const link = res.headers.get('link');
    next = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
  }
  return top === undefined ? items : items.slice(0, top);
}
