import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { blob, descriptor, makeImage, makeIndex, type TestImage } from '../helpers/images.js';
import { errorCode, pushBlob, pushImage, pushManifest, req } from '../helpers/http.js';
import { ALL_MANIFEST_TYPES as ALL_TYPES, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';


let srv: TestServer;
let base: string;
before(async () => {
  srv = await startTestServer({ maxManifestBytes: 64 * 1024 });
  base = srv.url;
});
after(() => srv.stop());

async function getManifest(repo: string, ref: string, accept = ALL_TYPES, method = 'GET') {
  return req(base, `/v2/${repo}/manifests/${ref}`, { method, headers: { Accept: accept } });
}

describe('all four manifest types round-trip byte-exact', () => {
  for (const format of ['oci', 'docker'] as const) {
    test(`${format} image and ${format} index`, async () => {
      const repo = `types/${format}`;
      const amd = await makeImage({ os: 'linux', architecture: 'amd64' }, format);
      const arm = await makeImage({ os: 'linux', architecture: 'arm64', variant: 'v8' }, format);
      await pushImage(base, repo, amd, 'amd64');
      await pushImage(base, repo, arm, 'arm64');
      const index = makeIndex([amd, arm], format);
      const put = await pushManifest(base, repo, 'multi', index);
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('docker-content-digest'), index.digest);
      assert.equal(put.headers.get('location'), `/v2/${repo}/manifests/${index.digest}`);
      for (const [ref, m] of [['amd64', amd.manifest], ['multi', index], [index.digest, index], [arm.manifest.digest, arm.manifest]] as const) {
        const res = await getManifest(repo, ref);
        assert.equal(res.status, 200, ref);
        assert.equal(res.headers.get('content-type'), m.mediaType);
        assert.equal(res.headers.get('docker-content-digest'), m.digest);
        assert.equal(res.headers.get('etag'), `"${m.digest}"`);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), m.bytes);
        const head = await getManifest(repo, ref, ALL_TYPES, 'HEAD');
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(m.size));
        assert.equal(head.headers.get('docker-content-digest'), m.digest);
      }
    });
  }
  test('a Docker list of OCI images and an OCI index of Docker images', async () => {
    const oci = await makeImage({ os: 'linux', architecture: 'amd64' }, 'oci');
    const docker = await makeImage({ os: 'linux', architecture: 'arm64' }, 'docker');
    await pushImage(base, 'types/mixed', oci);
    await pushImage(base, 'types/mixed', docker);
    assert.equal((await pushManifest(base, 'types/mixed', 'list', makeIndex([oci, docker], 'docker'))).status, 201);
    assert.equal((await pushManifest(base, 'types/mixed', 'index', makeIndex([oci, docker], 'oci'))).status, 201);
  });
  test('bytes are kept exactly, whitespace and key order included', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'types/exact', img);
    const parsed = JSON.parse(img.manifest.bytes.toString());
    const odd = blob(`\n  ${JSON.stringify({ layers: parsed.layers, config: parsed.config, mediaType: parsed.mediaType, schemaVersion: 2 }, null, 3)}  \n`, OCI_MANIFEST);
    assert.equal((await pushManifest(base, 'types/exact', 'odd', odd)).status, 201);
    const res = await getManifest('types/exact', 'odd');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), odd.bytes);
    assert.equal(res.headers.get('docker-content-digest'), odd.digest);
  });
  test('If-None-Match answers 304', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'types/etag', img, 'v1');
    const res = await req(base, '/v2/types/etag/manifests/v1', { headers: { Accept: ALL_TYPES, 'If-None-Match': `"${img.manifest.digest}"` } });
    assert.equal(res.status, 304);
  });
  test('an artifact with artifactType and the empty config', async () => {
    const empty = blob('{}', 'application/vnd.oci.empty.v1+json');
    const payload = blob('signature bytes', 'application/vnd.example.sig');
    await pushBlob(base, 'types/artifact', empty);
    await pushBlob(base, 'types/artifact', payload);
    const m = blob(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sig', config: descriptor(empty), layers: [descriptor(payload)] }),
      OCI_MANIFEST,
    );
    assert.equal((await pushManifest(base, 'types/artifact', 'sig', m)).status, 201);
  });
});

describe('validation leaves stored data unchanged', () => {
  let img: TestImage;
  before(async () => {
    img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'val/a', img, 'keep');
  });
  async function expectError(res: Response, status: number, code: string) {
    assert.equal(res.status, status);
    assert.equal(await errorCode(res), code);
    const still = await getManifest('val/a', 'keep');
    assert.equal(still.headers.get('docker-content-digest'), img.manifest.digest);
  }
  test('malformed JSON → MANIFEST_INVALID', async () => {
    await expectError(await pushManifest(base, 'val/a', 'keep', blob('{"schemaVersion": 2,', OCI_MANIFEST)), 400, 'MANIFEST_INVALID');
  });
  test('Content-Type disagreeing with mediaType → MANIFEST_INVALID', async () => {
    const res = await req(base, '/v2/val/a/manifests/keep', { method: 'PUT', headers: { 'Content-Type': DOCKER_MANIFEST }, body: img.manifest.bytes });
    await expectError(res, 400, 'MANIFEST_INVALID');
  });
  test('missing layer → MANIFEST_BLOB_UNKNOWN naming the digest', async () => {
    const other = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushBlob(base, 'val/a', other.config);
    const res = await pushManifest(base, 'val/a', 'keep', other.manifest);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: { code: string; detail: { digest: string } }[] };
    assert.equal(body.errors[0]!.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(body.errors[0]!.detail.digest, other.layers[0]!.digest);
  });
  test('blob present only in another repository → MANIFEST_BLOB_UNKNOWN', async () => {
    const other = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'val/elsewhere', other);
    await expectError(await pushManifest(base, 'val/a', 'keep', other.manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
  });
  test('index child missing → MANIFEST_BLOB_UNKNOWN', async () => {
    const child = await makeImage({ os: 'linux', architecture: 'arm64' });
    await expectError(await pushManifest(base, 'val/a', 'keep', makeIndex([img, child])), 400, 'MANIFEST_BLOB_UNKNOWN');
  });
  test('declared size differs from the blob → MANIFEST_INVALID', async () => {
    const parsed = JSON.parse(img.manifest.bytes.toString());
    parsed.layers[0].size += 1;
    await expectError(await pushManifest(base, 'val/a', 'keep', blob(JSON.stringify(parsed), OCI_MANIFEST)), 400, 'MANIFEST_INVALID');
  });
  test('PUT by digest whose bytes hash otherwise → DIGEST_INVALID', async () => {
    const other = blob('x').digest;
    const res = await req(base, `/v2/val/a/manifests/${other}`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: img.manifest.bytes });
    await expectError(res, 400, 'DIGEST_INVALID');
  });
  test('PUT by digest with matching bytes → 201', async () => {
    const res = await req(base, `/v2/val/a/manifests/${img.manifest.digest}`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: img.manifest.bytes });
    assert.equal(res.status, 201);
  });
  test('body over the size limit → 413', async () => {
    const huge = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, annotations: { pad: 'x'.repeat(70 * 1024) } }), OCI_MANIFEST);
    await expectError(await pushManifest(base, 'val/a', 'keep', huge), 413, 'MANIFEST_INVALID');
    // Also when the client streams without Content-Length.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(huge.bytes);
        c.close();
      },
    });
    const res = await fetch(`${base}/v2/val/a/manifests/keep`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: stream, duplex: 'half' } as RequestInit);
    await expectError(res, 413, 'MANIFEST_INVALID');
  });
  test('invalid tag → TAG_INVALID; schema 1 → MANIFEST_INVALID', async () => {
    await expectError(await pushManifest(base, 'val/a', '-bad', img.manifest), 400, 'TAG_INVALID');
    await expectError(await pushManifest(base, 'val/a', 'x'.repeat(129), img.manifest), 400, 'TAG_INVALID');
    const s1 = blob(JSON.stringify({ schemaVersion: 1, name: 'val/a', tag: 'keep', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    await expectError(await pushManifest(base, 'val/a', 'keep', s1), 400, 'MANIFEST_INVALID');
  });
  test('unknown manifests → MANIFEST_UNKNOWN', async () => {
    for (const ref of ['nope', blob('nope').digest]) {
      const res = await getManifest('val/a', ref);
      assert.equal(res.status, 404);
      assert.equal(await errorCode(res), 'MANIFEST_UNKNOWN');
    }
    const bad = await getManifest('val/a', 'sha256:123');
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  });
});

describe('content negotiation for old clients', () => {
  let amd: TestImage;
  before(async () => {
    amd = await makeImage({ os: 'linux', architecture: 'amd64' }, 'docker');
    const arm = await makeImage({ os: 'linux', architecture: 'arm64' }, 'docker');
    await pushImage(base, 'neg/a', amd);
    await pushImage(base, 'neg/a', arm);
    await pushManifest(base, 'neg/a', 'multi', makeIndex([arm, amd], 'docker'));
    await pushManifest(base, 'neg/a', 'armonly', makeIndex([arm], 'docker'));
  });
  test('Accept without the list type gets the linux/amd64 image', async () => {
    const res = await getManifest('neg/a', 'multi', DOCKER_MANIFEST);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), DOCKER_MANIFEST);
    assert.equal(res.headers.get('docker-content-digest'), amd.manifest.digest);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), amd.manifest.bytes);
  });
  test('no linux/amd64 child → MANIFEST_UNKNOWN', async () => {
    const res = await getManifest('neg/a', 'armonly', DOCKER_MANIFEST);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'MANIFEST_UNKNOWN');
  });
  test('Accept in any order, with q-values, or */* gets the list', async () => {
    for (const accept of [`${DOCKER_MANIFEST}, ${DOCKER_LIST}`, `${DOCKER_LIST};q=0.9, ${OCI_MANIFEST}`, '*/*']) {
      const res = await getManifest('neg/a', 'multi', accept);
      assert.equal(res.headers.get('content-type'), DOCKER_LIST, accept);
    }
  });
  test('by digest the list itself is served', async () => {
    const list = await getManifest('neg/a', 'multi');
    const digest = list.headers.get('docker-content-digest')!;
    const res = await getManifest('neg/a', digest, DOCKER_MANIFEST);
    assert.equal(res.headers.get('docker-content-digest'), digest);
  });
});

describe('delete', () => {
  test('by tag removes the tag only; by digest removes manifest and its tags', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'del/m', img, 'a');
    await pushManifest(base, 'del/m', 'b', img.manifest);
    assert.equal((await req(base, '/v2/del/m/manifests/a', { method: 'DELETE' })).status, 202);
    assert.equal((await getManifest('del/m', 'a')).status, 404);
    assert.equal((await getManifest('del/m', 'b')).status, 200);
    assert.equal((await req(base, `/v2/del/m/manifests/${img.manifest.digest}`, { method: 'DELETE' })).status, 202);
    assert.equal((await getManifest('del/m', 'b')).status, 404);
    assert.equal((await getManifest('del/m', img.manifest.digest)).status, 404);
    const again = await req(base, `/v2/del/m/manifests/${img.manifest.digest}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'MANIFEST_UNKNOWN');
    const tags = (await (await req(base, '/v2/del/m/tags/list')).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, []);
  });
});

describe('referrers', () => {
  let subject: TestImage;
  const sigs: { digest: string; size: number }[] = [];
  before(async () => {
    subject = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'ref/a', subject, 'v1');
    const empty = blob('{}', 'application/vnd.oci.empty.v1+json');
    await pushBlob(base, 'ref/a', empty);
    for (const [type, ann] of [['application/vnd.example.sig', 'one'], ['application/vnd.example.sbom', 'two']] as const) {
      const layer = blob(`${type} payload`, 'application/octet-stream');
      await pushBlob(base, 'ref/a', layer);
      const m = blob(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: type,
          config: descriptor(empty),
          layers: [descriptor(layer)],
          subject: descriptor(subject.manifest),
          annotations: { 'org.example.name': ann },
        }),
        OCI_MANIFEST,
      );
      const res = await pushManifest(base, 'ref/a', m.digest, m);
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('oci-subject'), subject.manifest.digest);
      sigs.push(m);
    }
  });
  test('lists every referrer with artifactType and annotations', async () => {
    const res = await req(base, `/v2/ref/a/referrers/${subject.manifest.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    const body = (await res.json()) as { mediaType: string; manifests: { digest: string; artifactType: string; annotations: Record<string, string>; size: number }[] };
    assert.equal(body.mediaType, OCI_INDEX);
    assert.deepEqual(body.manifests.map((m) => m.digest).sort(), sigs.map((s) => s.digest).sort());
    const sig = body.manifests.find((m) => m.artifactType === 'application/vnd.example.sig')!;
    assert.equal(sig.annotations['org.example.name'], 'one');
    assert.equal(res.headers.get('oci-filters-applied'), null);
  });
  test('artifactType filter', async () => {
    const res = await req(base, `/v2/ref/a/referrers/${subject.manifest.digest}?artifactType=application/vnd.example.sbom`);
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    const body = (await res.json()) as { manifests: { artifactType: string }[] };
    assert.deepEqual(body.manifests.map((m) => m.artifactType), ['application/vnd.example.sbom']);
  });
  test('unknown subject → empty index; bad digest → 400', async () => {
    const res = await req(base, `/v2/ref/a/referrers/${blob('none').digest}`);
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { manifests: unknown[] }).manifests, []);
    const bad = await req(base, '/v2/ref/a/referrers/sha256:nope');
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  });
  test('a referrer may arrive before its subject', async () => {
    const empty = blob('{}', 'application/vnd.oci.empty.v1+json');
    await pushBlob(base, 'ref/early', empty);
    const missing = blob('subject not pushed yet', OCI_MANIFEST);
    const m = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/x', config: descriptor(empty), layers: [], subject: descriptor(missing) }), OCI_MANIFEST);
    const res = await pushManifest(base, 'ref/early', m.digest, m);
    assert.equal(res.status, 201);
    const list = (await (await req(base, `/v2/ref/early/referrers/${missing.digest}`)).json()) as { manifests: { digest: string }[] };
    assert.deepEqual(list.manifests.map((x) => x.digest), [m.digest]);
  });
});
