import type { TestImage, Blob } from './images.js';

/** Thin fetch wrappers for API tests: every call is real HTTP against the test server. */

export async function req(base: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(base + path, { redirect: 'manual', ...init });
}

/** Pushes a blob monolithically (POST ?digest=). */
export async function pushBlob(base: string, repo: string, b: Blob): Promise<Response> {
  const res = await req(base, `/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: b.bytes,
  });
  if (res.status !== 201) throw new Error(`push blob ${b.digest}: ${res.status} ${await res.text()}`);
  return res;
}

export async function pushManifest(base: string, repo: string, ref: string, m: Blob): Promise<Response> {
  return req(base, `/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': m.mediaType }, body: m.bytes });
}

/** Pushes an image's blobs and manifest (by digest, and by `tag` if given). */
export async function pushImage(base: string, repo: string, img: TestImage, tag?: string): Promise<void> {
  for (const b of [img.config, ...img.layers]) await pushBlob(base, repo, b);
  const res = await pushManifest(base, repo, tag ?? img.manifest.digest, img.manifest);
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
}

export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}

/** A request whose path is sent exactly as given (fetch would normalise `..` and `.` away). */
export async function rawRequest(base: string, method: string, path: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const r = request({ host: url.hostname, port: url.port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}
