/**
 * The one way the metadata commands talk to a registry over HTTP. Every request goes through
 * `acrRequest`, so credentials (a token, basic auth) can be added here and nowhere else.
 */

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

/** Loopback registries are spoken to over plain HTTP (as docker does for them); others over TLS. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

export function baseUrl(registry: RegistryEndpoint): string {
  return `${registry.plainHttp || isLoopback(registry.host) ? 'http' : 'https'}://${registry.host}`;
}

/** One request; a non-2xx answer becomes an Error carrying the registry's own code and message. */
export async function acrRequest(registry: RegistryEndpoint, method: string, path: string, body?: unknown): Promise<AcrResponse> {
  const url = baseUrl(registry) + path;
  const init: RequestInit = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
  }
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach ${baseUrl(registry)}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
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
