/**
 * A client for one registry's /v2 API: follows Basic and Bearer (Docker token flow) challenges,
 * retries transient failures with backoff, mounts across repositories, and uploads big blobs in
 * resumable chunks. Bodies are streamed, never buffered whole.
 */
import { Readable } from 'node:stream';
import { digestOf } from '../oci/digest.js';
import { MediaType } from '../oci/mediatypes.js';
import { isLoopbackRegistry } from '../oci/reference.js';
import { loadCredentials, type Credentials } from './credentials.js';

export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
].join(', ');

export interface ClientOptions {
  /** Speak plain HTTP (loopback registries always do). */
  plainHttp?: boolean;
  /** Credentials to use instead of the stored login; `null` forces anonymous access. */
  credentials?: Credentials | null;
  /** Attempts for a request that fails transiently (connection reset, 5xx, 429). */
  attempts?: number;
  /** First backoff delay; doubles each attempt. */
  backoffMs?: number;
  /** Blobs larger than this go up in chunks of this size, each resumable. */
  chunkSize?: number;
}

export interface ManifestData {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** An error the registry answered with (or a transport failure), as one readable line. */
export class RegistryClientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

type Body = Buffer | AsyncIterable<Uint8Array> | undefined;

interface RequestSpec {
  method: string;
  /** Path under the registry root, or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  /** Opens the body afresh for every attempt, so retries and re-authentication can resend it. */
  body?: () => Body | Promise<Body>;
  /** Token scopes the request needs, e.g. `repository:app:pull,push`. */
  scopes: string[];
  /** Statuses that are answers, not errors. */
  ok: number[];
}

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (or Basic). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/** Reads `n` bytes at most from an iterator, keeping what is left over for the next call. */
class ChunkReader {
  private leftover: Buffer | undefined;
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  async *take(n: number): AsyncGenerator<Buffer> {
    let remaining = n;
    while (remaining > 0) {
      let chunk = this.leftover;
      this.leftover = undefined;
      if (!chunk) {
        if (this.done) return;
        const r = await this.it.next();
        if (r.done) {
          this.done = true;
          return;
        }
        chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      }
      if (chunk.length > remaining) {
        this.leftover = chunk.subarray(remaining);
        chunk = chunk.subarray(0, remaining);
      }
      remaining -= chunk.length;
      yield chunk;
    }
  }
}

/** Passes a stream through, reporting each chunk's size (progress). */
export async function* counted(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.byteLength);
    yield chunk;
  }
}

export class RegistryClient {
  readonly base: string;
  private challenge: Challenge | undefined;
  private pinged = false;
  private credentials: Credentials | null | undefined;
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  private readonly attempts: number;
  private readonly backoffMs: number;
  readonly chunkSize: number;

  constructor(
    readonly registry: string,
    options: ClientOptions = {},
  ) {
    const plain = options.plainHttp || isLoopbackRegistry(registry);
    // Docker Hub's API lives on another host than its name.
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    this.base = `${plain ? 'http' : 'https'}://${host}`;
    this.credentials = options.credentials;
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 250;
    this.chunkSize = options.chunkSize ?? 32 * 1024 * 1024;
  }

  private async getCredentials(): Promise<Credentials | null> {
    if (this.credentials === undefined) this.credentials = (await loadCredentials(this.registry)) ?? null;
    return this.credentials;
  }

  /** Learns the registry's challenge once, as docker does, so requests carry credentials up front. */
  private async ping(): Promise<void> {
    if (this.pinged) return;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.send({ method: 'GET', path: '/v2/', scopes: [], ok: [200, 401] }, undefined);
        if (res.status === 401) this.challenge = parseChallenge(res.headers.get('www-authenticate'));
        await res.body?.cancel();
        if (isTransientStatus(res.status) && attempt < this.attempts) {
          await sleep(this.backoffMs * 2 ** (attempt - 1));
          continue;
        }
        break;
      } catch (e) {
        if (attempt >= this.attempts) throw new RegistryClientError(`cannot reach ${this.registry} (${this.base}): ${causeOf(e)}`);
        await sleep(this.backoffMs * 2 ** (attempt - 1));
      }
    }
    this.pinged = true;
  }

  private async authorization(scopes: string[], fresh = false): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const creds = await this.getCredentials();
    if (ch.scheme === 'basic') {
      if (!creds) throw new RegistryClientError(`${this.registry} requires a login: run \`manifold login ${this.registry}\``, 401, 'UNAUTHORIZED');
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (cached && !fresh && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.fetchToken(scopes, creds);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  /** The Docker token flow: ask the challenge's realm for a token covering `scopes`. */
  private async fetchToken(scopes: string[], creds: Credentials | null): Promise<{ token: string; expires: number }> {
    const { realm, service } = this.challenge!.params;
    if (!realm) throw new RegistryClientError(`${this.registry} sent a Bearer challenge without a realm`);
    let res: Response;
    try {
      if (creds?.identityToken) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'manifold' });
        if (service) form.set('service', service);
        if (scopes.length) form.set('scope', scopes.join(' '));
        res = await fetch(realm, { method: 'POST', body: form });
      } else {
        const url = new URL(realm);
        if (service) url.searchParams.set('service', service);
        for (const s of scopes) url.searchParams.append('scope', s);
        const headers: Record<string, string> = {};
        if (creds) headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
        res = await fetch(url, { headers });
      }
    } catch (e) {
      throw new RegistryClientError(`cannot reach the token service ${realm}: ${causeOf(e)}`);
    }
    if (!res.ok) {
      const detail = (await res.text()).slice(0, 200);
      throw new RegistryClientError(
        res.status === 401 || res.status === 403
          ? `${this.registry}: login refused by ${realm}${creds ? '' : ` (no credentials: run \`manifold login ${this.registry}\`)`}`
          : `${this.registry}: token service ${realm} answered ${res.status} ${detail}`,
        res.status,
        'UNAUTHORIZED',
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryClientError(`${this.registry}: token service ${realm} returned no token`);
    // Renew a little early; the spec's default lifetime is 60 s.
    return { token, expires: Date.now() + Math.max(10, (body.expires_in ?? 60) - 10) * 1000 };
  }

  private async send(spec: RequestSpec, authorization: string | undefined): Promise<Response> {
    const url = /^https?:\/\//.test(spec.path) ? spec.path : this.base + spec.path;
    const headers: Record<string, string> = { 'User-Agent': 'manifold', ...spec.headers };
    if (authorization) headers.Authorization = authorization;
    const body = spec.body ? await spec.body() : undefined;
    // An iterable body streams (undici needs duplex: 'half' for that).
    return fetch(url, { method: spec.method, headers, body: body as BodyInit | undefined, redirect: 'follow', duplex: 'half' } as RequestInit);
  }

  /**
   * Sends a request with credentials, re-authenticating once on 401 and retrying transient
   * failures with exponential backoff (honouring Retry-After).
   */
  async request(spec: RequestSpec): Promise<Response> {
    await this.ping();
    let reauthed = false;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.send(spec, await this.authorization(spec.scopes));
      } catch (e) {
        if (e instanceof RegistryClientError) throw e;
        if (attempt >= this.attempts) throw new RegistryClientError(`${this.registry}: ${spec.method} ${shortPath(spec.path)}: ${causeOf(e)}`);
        await sleep(this.backoffMs * 2 ** (attempt - 1));
        continue;
      }
      if (res.status === 401 && !reauthed) {
        reauthed = true;
        const ch = parseChallenge(res.headers.get('www-authenticate'));
        await res.body?.cancel();
        if (ch) this.challenge = ch;
        await this.authorization(spec.scopes, true);
        attempt--;
        continue;
      }
      if (spec.ok.includes(res.status)) return res;
      if (isTransientStatus(res.status) && attempt < this.attempts) {
        const retryAfter = Number(res.headers.get('retry-after'));
        await res.body?.cancel();
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 60) * 1000 : this.backoffMs * 2 ** (attempt - 1));
        continue;
      }
      throw await this.errorFrom(spec, res);
    }
  }

  private async errorFrom(spec: RequestSpec, res: Response): Promise<RegistryClientError> {
    let code: string | undefined;
    let message = '';
    const text = await res.text().catch(() => '');
    try {
      const e = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
      code = e?.code;
      message = e?.message ?? '';
    } catch {
      message = text.slice(0, 200);
    }
    if (res.status === 401) {
      const hint = (await this.getCredentials()) ? 'credentials refused' : `authentication required: run \`manifold login ${this.registry}\``;
      return new RegistryClientError(`${this.registry}: ${hint}`, 401, code ?? 'UNAUTHORIZED');
    }
    // HEAD answers carry no body: name the refusal rather than print a bare status text.
    if (!code && res.status === 403) code = 'DENIED';
    if (!message && res.status === 403) message = 'access denied for these credentials';
    const what = [code, message].filter(Boolean).join(': ') || res.statusText;
    return new RegistryClientError(`${this.registry}: ${spec.method} ${shortPath(spec.path)}: ${res.status} ${what}`, res.status, code);
  }

  // ---- the /v2 operations ----

  async checkAccess(): Promise<void> {
    const res = await this.request({ method: 'GET', path: '/v2/', scopes: [], ok: [200] });
    await res.body?.cancel();
  }

  async getManifest(repo: string, reference: string): Promise<ManifestData> {
    const res = await this.request({
      method: 'GET',
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      scopes: [pullScope(repo)],
      ok: [200],
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = digestOf(bytes, reference.startsWith('sha512:') ? 'sha512' : 'sha256');
    if (reference.includes(':') && digest !== reference) {
      throw new RegistryClientError(`${this.registry}: manifest ${reference} arrived with digest ${digest}`);
    }
    let mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    try {
      mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType || mediaType;
    } catch {
      throw new RegistryClientError(`${this.registry}: manifest ${repo}:${reference} is not JSON`);
    }
    return { bytes, mediaType, digest };
  }

  async manifestExists(repo: string, reference: string): Promise<boolean> {
    const res = await this.request({
      method: 'HEAD',
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      scopes: [pullScope(repo)],
      ok: [200, 404],
    });
    return res.status === 200;
  }

  async putManifest(repo: string, reference: string, m: ManifestData): Promise<string> {
    const res = await this.request({
      method: 'PUT',
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { 'Content-Type': m.mediaType },
      body: () => m.bytes,
      scopes: [pushScope(repo)],
      ok: [201],
    });
    await res.body?.cancel();
    return res.headers.get('docker-content-digest') ?? m.digest;
  }

  async deleteManifest(repo: string, reference: string): Promise<void> {
    const res = await this.request({ method: 'DELETE', path: `/v2/${repo}/manifests/${reference}`, scopes: [`repository:${repo}:delete`], ok: [202] });
    await res.body?.cancel();
  }

  async listTags(repo: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list`;
    while (path) {
      const res = await this.request({ method: 'GET', path, scopes: [pullScope(repo)], ok: [200] });
      tags.push(...(((await res.json()) as { tags?: string[] }).tags ?? []));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
      path = next ? new URL(next[1]!, this.base).pathname + new URL(next[1]!, this.base).search : undefined;
    }
    return tags;
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.request({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], ok: [200, 404] });
    return res.status === 200;
  }

  /** Streams a blob, from `offset` on (a Range request). */
  async getBlob(repo: string, digest: string, offset = 0): Promise<Readable> {
    const res = await this.request({
      method: 'GET',
      path: `/v2/${repo}/blobs/${digest}`,
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
      scopes: [pullScope(repo)],
      ok: offset > 0 ? [206] : [200],
    });
    if (!res.body) throw new RegistryClientError(`${this.registry}: blob ${digest} has no body`);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  /** Links a blob from another repository of this registry; false when the registry declines. */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    const res = await this.request({
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [pushScope(repo), pullScope(from)],
      ok: [201, 202],
    });
    await res.body?.cancel();
    if (res.status === 202) {
      // The registry opened an upload session instead; close it so it does not linger.
      const location = res.headers.get('location');
      if (location) {
        await this.request({ method: 'DELETE', path: this.resolve(location), scopes: [pushScope(repo)], ok: [204, 404] })
          .then((r) => r.body?.cancel())
          .catch(() => undefined);
      }
      return false;
    }
    return true;
  }

  private resolve(location: string): string {
    return new URL(location, this.base).toString();
  }

  /**
   * Uploads a blob. Small blobs go in one PUT; big ones in chunks, and a failed chunk resumes from
   * the offset the registry reports rather than from zero. `open(offset)` re-reads the source.
   */
  async uploadBlob(
    repo: string,
    desc: { digest: string; size: number },
    open: (offset: number) => Promise<AsyncIterable<Uint8Array>>,
    onBytes: (n: number) => void = () => {},
  ): Promise<void> {
    const scopes = [pushScope(repo)];
    const start = await this.request({ method: 'POST', path: `/v2/${repo}/blobs/uploads/`, scopes, ok: [202] });
    await start.body?.cancel();
    let location = this.resolve(start.headers.get('location') ?? '');
    const withDigest = (loc: string) => {
      const u = new URL(loc);
      u.searchParams.set('digest', desc.digest);
      return u.toString();
    };

    if (desc.size <= this.chunkSize) {
      // Monolithic PUT; a retry re-opens the source from the start.
      let sent = 0;
      const res = await this.request({
        method: 'PUT',
        path: withDigest(location),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(desc.size) },
        body: async () => {
          onBytes(-sent);
          sent = 0;
          return counted(await open(0), (n) => {
            sent += n;
            onBytes(n);
          });
        },
        scopes,
        ok: [201],
      });
      await res.body?.cancel();
      return;
    }

    let offset = 0;
    let failures = 0;
    let reported = 0;
    const report = (n: number) => {
      reported += n;
      onBytes(n);
    };
    let reader = new ChunkReader((await open(0))[Symbol.asyncIterator]());
    while (offset < desc.size) {
      const length = Math.min(this.chunkSize, desc.size - offset);
      try {
        const res = await this.send(
          {
            method: 'PATCH',
            path: location,
            headers: {
              'Content-Type': 'application/octet-stream',
              'Content-Length': String(length),
              'Content-Range': `${offset}-${offset + length - 1}`,
            },
            body: () => counted(reader.take(length), report),
            scopes,
            ok: [202],
          },
          await this.authorization(scopes),
        );
        if (res.status !== 202) throw await this.errorFrom({ method: 'PATCH', path: location, scopes, ok: [202] }, res);
        await res.body?.cancel();
        location = this.resolve(res.headers.get('location') ?? location);
        offset += length;
        failures = 0;
      } catch (e) {
        // A cut connection, a transient status, a 416 (out of step) or an expired token (401):
        // ask where the session stands and resume. Anything else is final.
        if (e instanceof RegistryClientError && e.status !== undefined && !isTransientStatus(e.status) && e.status !== 416 && e.status !== 401) throw e;
        if (e instanceof RegistryClientError && e.status === 401) await this.authorization(scopes, true);
        if (++failures >= this.attempts) throw e instanceof RegistryClientError ? e : new RegistryClientError(`${this.registry}: upload of ${desc.digest}: ${causeOf(e)}`);
        await sleep(this.backoffMs * 2 ** (failures - 1));
        const status = await this.request({ method: 'GET', path: location, scopes, ok: [204] });
        await status.body?.cancel();
        location = this.resolve(status.headers.get('location') ?? location);
        const range = /^(?:bytes=)?0-(\d+)$/.exec(status.headers.get('range') ?? '');
        const resumeAt = range ? Number(range[1]) + 1 : 0;
        report(resumeAt - reported);
        offset = resumeAt;
        reader = new ChunkReader((await open(offset))[Symbol.asyncIterator]());
      }
    }
    const done = await this.request({ method: 'PUT', path: withDigest(location), headers: { 'Content-Length': '0' }, scopes, ok: [201] });
    await done.body?.cancel();
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function shortPath(path: string): string {
  try {
    const u = new URL(path, 'http://x');
    return u.pathname;
  } catch {
    return path;
  }
}

function causeOf(e: unknown): string {
  const err = e as { cause?: { code?: string; message?: string }; message?: string };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
