import assert from 'node:assert/strict';
import { makeAttestedIndex, makeImage, makeSignature } from './images.js';
import { pushBlob, pushImage, pushManifest, req } from './http.js';

/** Helpers for /acr/v1 tests. */

export interface Attributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

export async function getJson<T = Record<string, unknown>>(base: string, path: string): Promise<{ status: number; body: T; link: string | null }> {
  const res = await req(base, path);
  return { status: res.status, body: (await res.json()) as T, link: res.headers.get('link') };
}

export async function patch(base: string, path: string, body: unknown): Promise<Response> {
  return req(base, path, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** PATCHes and checks it worked. */
export async function setAttributes(base: string, path: string, attrs: Partial<Attributes>): Promise<void> {
  const res = await patch(base, path, attrs);
  assert.equal(res.status, 200, `PATCH ${path}: ${await res.clone().text()}`);
}

/** Follows `Link: <…>; rel="next"` from `path` to the end, returning each page's `key` items. */
export async function allPages<T>(base: string, path: string, key: string): Promise<T[][]> {
  const pages: T[][] = [];
  let next: string | undefined = path;
  while (next) {
    const { status, body, link } = await getJson<Record<string, T[]>>(base, next);
    assert.equal(status, 200, next);
    pages.push(body[key]!);
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
  }
  return pages;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A multi-arch repository as users have them: linux/amd64 and linux/arm64/v8 images (tags
 * `amd64`, `arm64`), an index over both with BuildKit attestations (tags `1.0`, `latest`), and
 * a signature of the index. Pushed a few milliseconds apart so that time orders are certain.
 */
export async function pushMultiArchRepo(base: string, repo: string) {
  const amd = await makeImage({ os: 'linux', architecture: 'amd64' });
  const arm = await makeImage({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  const { index, attestations } = await makeAttestedIndex([amd, arm]);
  await pushImage(base, repo, amd, 'amd64');
  await sleep(5);
  await pushImage(base, repo, arm, 'arm64');
  await sleep(5);
  for (const a of attestations) await pushImage(base, repo, a);
  assert.equal((await pushManifest(base, repo, '1.0', index)).status, 201);
  await sleep(5);
  assert.equal((await pushManifest(base, repo, 'latest', index)).status, 201);
  const sig = makeSignature(index);
  for (const b of sig.blobs) await pushBlob(base, repo, b);
  assert.equal((await pushManifest(base, repo, sig.manifest.digest, sig.manifest)).status, 201);
  return { amd, arm, attestations, index, signature: sig.manifest };
}
