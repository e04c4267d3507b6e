import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allPages, getJson, setAttributes, type Attributes } from '../helpers/acr.js';
import { errorCode, pushBlob, pushImage, pushManifest, req } from '../helpers/http.js';
import { blob, makeImage, makeIndex, type TestImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES, DOCKER_MANIFEST, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** changeableAttributes are enforced on /v2 as on /acr/v1: this is how users lock a released image. */

let srv: TestServer;
let base: string;
before(async () => {
  srv = await startTestServer();
  base = srv.url;
});
after(() => srv.stop());

let n = 0;
/** A fresh repository holding one image under `tag`. */
async function fresh(tag = 'v1'): Promise<{ repo: string; img: TestImage }> {
  const repo = `locks/r${n++}`;
  const img = await makeImage({ os: 'linux', architecture: 'amd64' });
  await pushImage(base, repo, img, tag);
  return { repo, img };
}

async function assertDenied(res: Response, what: string): Promise<void> {
  assert.equal(res.status, 403, what);
  if (res.headers.get('content-length') !== '0') {
    const body = (await res.json()) as { errors: { code: string; message: string; detail: { attribute: string } }[] };
    assert.equal(body.errors[0]!.code, 'DENIED', what);
    assert.match(body.errors[0]!.message, /locked/, what);
  }
}

const manifestGet = (repo: string, ref: string, method = 'GET', accept = ALL_MANIFEST_TYPES) =>
  req(base, `/v2/${repo}/manifests/${ref}`, { method, headers: { Accept: accept } });
const manifestDelete = (repo: string, ref: string) => req(base, `/v2/${repo}/manifests/${ref}`, { method: 'DELETE' });
const tagPath = (repo: string, tag: string) => `/acr/v1/${repo}/_tags/${tag}`;
const manifestPath = (repo: string, digest: string) => `/acr/v1/${repo}/_manifests/${digest}`;
const resolve = async (repo: string, tag: string) => (await getJson<{ tag: { digest: string } }>(base, tagPath(repo, tag))).body.tag.digest;

describe('writeEnabled: false', () => {
  test('on a tag: a /v2 push to it is DENIED and it keeps pointing where it did', async () => {
    const { repo, img } = await fresh('1.0');
    await setAttributes(base, tagPath(repo, '1.0'), { writeEnabled: false });
    const other = await makeImage({ os: 'linux', architecture: 'arm64' });
    for (const b of [other.config, ...other.layers]) await pushBlob(base, repo, b);
    await assertDenied(await pushManifest(base, repo, '1.0', other.manifest), 'overwrite');
    await assertDenied(await pushManifest(base, repo, '1.0', img.manifest), 'same digest again');
    assert.equal(await resolve(repo, '1.0'), img.manifest.digest);
    // Other tags and pushes by digest are not affected.
    assert.equal((await pushManifest(base, repo, '1.1', other.manifest)).status, 201);
    assert.equal((await pushManifest(base, repo, other.manifest.digest, other.manifest)).status, 201);
    // It also locks against deletion, as in Azure Container Registry.
    await assertDenied(await manifestDelete(repo, '1.0'), 'delete tag via /v2');
    await assertDenied(await req(base, tagPath(repo, '1.0'), { method: 'DELETE' }), 'delete tag via /acr/v1');
    await assertDenied(await manifestDelete(repo, img.manifest.digest), 'delete its manifest');
    // Unlocking is always possible, and then the push goes through.
    await setAttributes(base, tagPath(repo, '1.0'), { writeEnabled: true });
    assert.equal((await pushManifest(base, repo, '1.0', other.manifest)).status, 201);
    assert.equal(await resolve(repo, '1.0'), other.manifest.digest);
  });
  test('on a repository: no uploads, pushes or deletes; reads still work', async () => {
    const { repo, img } = await fresh();
    await setAttributes(base, `/acr/v1/${repo}`, { writeEnabled: false });
    await assertDenied(await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST' }), 'upload');
    await assertDenied(await pushManifest(base, repo, 'v2', img.manifest), 'push new tag');
    await assertDenied(await manifestDelete(repo, 'v1'), 'delete tag');
    await assertDenied(await req(base, `/v2/${repo}/blobs/${img.layers[0]!.digest}`, { method: 'DELETE' }), 'delete blob');
    assert.equal((await manifestGet(repo, 'v1')).status, 200);
    assert.equal((await req(base, `/v2/${repo}/blobs/${img.layers[0]!.digest}`)).status, 200);
    // A new repository elsewhere is unaffected.
    await fresh();
  });
});

describe('deleteEnabled: false', () => {
  test('on a tag: the tag cannot be deleted, nor its manifest; it can still be moved', async () => {
    const { repo, img } = await fresh();
    await setAttributes(base, tagPath(repo, 'v1'), { deleteEnabled: false });
    await assertDenied(await manifestDelete(repo, 'v1'), '/v2 tag delete');
    await assertDenied(await req(base, tagPath(repo, 'v1'), { method: 'DELETE' }), '/acr/v1 tag delete');
    await assertDenied(await manifestDelete(repo, img.manifest.digest), 'manifest delete');
    const other = await makeImage({ os: 'linux', architecture: 'arm64' });
    await pushImage(base, repo, other, 'v1');
    assert.equal(await resolve(repo, 'v1'), other.manifest.digest);
    // The old manifest has no locked tag any more.
    assert.equal((await manifestDelete(repo, img.manifest.digest)).status, 202);
  });
  test('a hidden (listEnabled: false) locked tag still protects its manifest', async () => {
    const { repo, img } = await fresh();
    await setAttributes(base, tagPath(repo, 'v1'), { deleteEnabled: false, listEnabled: false });
    await assertDenied(await manifestDelete(repo, img.manifest.digest), 'manifest delete');
  });
  test('on a manifest: DELETE by digest is DENIED, its tags can still be removed', async () => {
    const { repo, img } = await fresh();
    await setAttributes(base, manifestPath(repo, img.manifest.digest), { deleteEnabled: false });
    await assertDenied(await manifestDelete(repo, img.manifest.digest), 'manifest delete');
    assert.equal((await manifestGet(repo, img.manifest.digest)).status, 200);
    assert.equal((await manifestDelete(repo, 'v1')).status, 202);
  });
  test('a repository delete is refused while anything in it is locked, and deletes nothing', async () => {
    const { repo, img } = await fresh();
    const second = await makeImage({ os: 'linux', architecture: 'arm64' });
    await pushImage(base, repo, second, 'v2');
    for (const [path, attrs] of [
      [`/acr/v1/${repo}`, { deleteEnabled: false }],
      [tagPath(repo, 'v2'), { writeEnabled: false }],
      [manifestPath(repo, img.manifest.digest), { deleteEnabled: false }],
    ] as [string, Partial<Attributes>][]) {
      await setAttributes(base, path, attrs);
      await assertDenied(await req(base, `/acr/v1/${repo}`, { method: 'DELETE' }), path);
      assert.equal((await getJson<{ manifestCount: number }>(base, `/acr/v1/${repo}`)).body.manifestCount, 2);
      await setAttributes(base, path, { deleteEnabled: true, writeEnabled: true });
    }
    assert.equal((await req(base, `/acr/v1/${repo}`, { method: 'DELETE' })).status, 202);
  });
});

describe('readEnabled: false', () => {
  test('on a manifest: GET and HEAD by digest and by tag are DENIED, as blob too; metadata still readable', async () => {
    const { repo, img } = await fresh();
    await setAttributes(base, manifestPath(repo, img.manifest.digest), { readEnabled: false });
    for (const ref of ['v1', img.manifest.digest]) {
      await assertDenied(await manifestGet(repo, ref), `GET ${ref}`);
      await assertDenied(await manifestGet(repo, ref, 'HEAD'), `HEAD ${ref}`);
    }
    await assertDenied(await req(base, `/v2/${repo}/blobs/${img.manifest.digest}`), 'manifest as blob');
    assert.equal((await req(base, manifestPath(repo, img.manifest.digest))).status, 200);
    await setAttributes(base, manifestPath(repo, img.manifest.digest), { readEnabled: true });
    assert.equal((await manifestGet(repo, 'v1')).status, 200);
  });
  test('on a tag: pulls through the tag are DENIED, by digest they are not', async () => {
    const { repo, img } = await fresh();
    await setAttributes(base, tagPath(repo, 'v1'), { readEnabled: false });
    await assertDenied(await manifestGet(repo, 'v1'), 'by tag');
    assert.equal((await manifestGet(repo, img.manifest.digest)).status, 200);
  });
  test('on an index child: the image served to an old client is DENIED', async () => {
    const repo = `locks/r${n++}`;
    const amd = await makeImage({ os: 'linux', architecture: 'amd64' }, 'docker');
    const arm = await makeImage({ os: 'linux', architecture: 'arm64' }, 'docker');
    await pushImage(base, repo, amd);
    await pushImage(base, repo, arm);
    assert.equal((await pushManifest(base, repo, 'multi', makeIndex([amd, arm], 'docker'))).status, 201);
    await setAttributes(base, manifestPath(repo, amd.manifest.digest), { readEnabled: false });
    await assertDenied(await manifestGet(repo, 'multi', 'GET', DOCKER_MANIFEST), 'negotiated child');
    assert.equal((await manifestGet(repo, 'multi')).status, 200, 'the list itself is readable');
  });
  test('on a repository: manifests and blobs are DENIED', async () => {
    const { repo, img } = await fresh();
    await setAttributes(base, `/acr/v1/${repo}`, { readEnabled: false });
    await assertDenied(await manifestGet(repo, 'v1'), 'manifest');
    await assertDenied(await req(base, `/v2/${repo}/blobs/${img.layers[0]!.digest}`), 'blob');
    await assertDenied(await req(base, `/v2/${repo}/blobs/${img.layers[0]!.digest}`, { method: 'HEAD' }), 'blob HEAD');
  });
});

describe('listEnabled: false', () => {
  test('a tag is hidden from /v2 tags/list, /acr/v1 _tags and manifests\' tags, but can be read', async () => {
    const { repo, img } = await fresh('a');
    for (const t of ['b', 'c', 'd']) assert.equal((await pushManifest(base, repo, t, img.manifest)).status, 201);
    await setAttributes(base, tagPath(repo, 'b'), { listEnabled: false });
    assert.deepEqual((await getJson<{ tags: string[] }>(base, `/v2/${repo}/tags/list`)).body.tags, ['a', 'c', 'd']);
    // Paging counts only what is shown.
    assert.deepEqual((await allPages<string>(base, `/v2/${repo}/tags/list?n=1`, 'tags')).flat(), ['a', 'c', 'd']);
    assert.deepEqual((await allPages<{ name: string }>(base, `/acr/v1/${repo}/_tags?n=2`, 'tags')).flat().map((t) => t.name), ['a', 'c', 'd']);
    const m = await getJson<{ manifest: { tags: string[] } }>(base, manifestPath(repo, img.manifest.digest));
    assert.deepEqual(m.body.manifest.tags, ['a', 'c', 'd']);
    assert.equal((await req(base, tagPath(repo, 'b'))).status, 200);
    assert.equal((await manifestGet(repo, 'b')).status, 200);
  });
  test('a manifest is hidden from _manifests', async () => {
    const { repo, img } = await fresh();
    const other = await makeImage({ os: 'linux', architecture: 'arm64' });
    await pushImage(base, repo, other, 'v2');
    await setAttributes(base, manifestPath(repo, img.manifest.digest), { listEnabled: false });
    const listed = (await getJson<{ manifests: { digest: string }[] }>(base, `/acr/v1/${repo}/_manifests`)).body.manifests;
    assert.deepEqual(listed.map((m) => m.digest), [other.manifest.digest]);
    assert.equal((await req(base, manifestPath(repo, img.manifest.digest))).status, 200);
  });
  test('a repository is hidden from both catalogs, and still answers by name', async () => {
    const { repo } = await fresh();
    const catalogs = async () =>
      Promise.all(['/v2/_catalog', '/acr/v1/_catalog'].map(async (p) => (await getJson<{ repositories: string[] }>(base, p)).body.repositories.includes(repo)));
    assert.deepEqual(await catalogs(), [true, true]);
    await setAttributes(base, `/acr/v1/${repo}`, { listEnabled: false });
    assert.deepEqual(await catalogs(), [false, false]);
    assert.equal((await req(base, `/acr/v1/${repo}`)).status, 200);
    assert.equal((await req(base, `/v2/${repo}/tags/list`)).status, 200);
  });
});

test('an artifact pushed by digest into a repository with a write-locked tag is still accepted', async () => {
  const { repo, img } = await fresh();
  await setAttributes(base, tagPath(repo, 'v1'), { writeEnabled: false });
  const payload = blob('sbom', 'application/spdx+json');
  const empty = blob('{}', 'application/vnd.oci.empty.v1+json');
  await pushBlob(base, repo, payload);
  await pushBlob(base, repo, empty);
  const sbom = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/spdx+json',
      config: { mediaType: empty.mediaType, digest: empty.digest, size: empty.size },
      layers: [{ mediaType: payload.mediaType, digest: payload.digest, size: payload.size }],
      subject: { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size },
    }),
    OCI_MANIFEST,
  );
  const res = await pushManifest(base, repo, sbom.digest, sbom);
  assert.equal(res.status, 201);
  assert.equal(await errorCode(await req(base, `/v2/${repo}/manifests/v1`, { method: 'PUT', headers: { 'Content-Type': img.manifest.mediaType }, body: img.manifest.bytes })), 'DENIED');
});
