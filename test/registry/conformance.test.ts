/**
 * The OCI Distribution Specification v1.1 conformance suite's request sequences, replayed against a
 * real server, plus the spec requirements that suite does not check (and Docker Registry API V2
 * behaviour where it agrees).
 *
 * Sources (opencontainers/distribution-spec):
 *   - spec.md (v1.1): "MUST"/"SHOULD" quotes in test names are from it;
 *   - conformance/setup.go: the test data (configs with a random author, the base64 gzip layer,
 *     manifests whose descriptors carry `data` and `newUnspecifiedField`, the referrers fixtures);
 *   - conformance/01_pull_test.go, 02_push_test.go, 03_discovery_test.go, 04_management_test.go:
 *     the v1.1 Ginkgo suite (one describe per workflow here);
 *   - conformance/run.go + api.go: the newer runner on the main branch (extra blob, range, sha512,
 *     large-manifest, nested-index and referrer checks).
 *
 * Tests already covered by blobs/manifests/listings.test.ts are not repeated here. The last
 * describe holds spec requirements the suite itself does not check (error codes outside its list,
 * Range units, empty artifactType, case-insensitive tag order).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { blob, makeImage, sha256, type Blob } from '../helpers/images.js';
import { OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, OCTET } from '../helpers/mediatypes.js';
import { errorCode, pushBlob, pushImage, pushManifest, req } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';


/** conformance/setup.go errorCodes plus TOOMANYREQUESTS: spec.md "The `code` field MUST be one of the following". */
const OCI_ERROR_CODES = [
  'BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'UNAUTHORIZED',
  'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS',
  // "Legacy Docker support error codes": clients MAY encounter these.
  'TAG_INVALID', 'MANIFEST_UNVERIFIED',
];

let srv: TestServer;
let base: string;
before(async () => {
  srv = await startTestServer();
  base = srv.url;
});
after(() => srv.stop());

// ---------------------------------------------------------------------------------------------
// Test data as conformance/setup.go builds it.

/** setup.go layerBase64String: a gzip'd tar holding test.txt. */
const LAYER_BASE64 =
  'H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0' +
  'WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD' +
  'jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA';

/** Go's json.MarshalIndent(v, "", "\t"). */
function goJSON(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v, null, '\t'));
}

/** setup.go's descriptor type: `newUnspecifiedField` has no omitempty, so it is always present. */
function desc(b: Blob, extra: Record<string, unknown> = {}) {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra, newUnspecifiedField: null };
}

interface Fixtures {
  layer: Blob;
  configs: Blob[];
  manifests: Blob[];
}

/** One config and one manifest per workflow (setup.go builds numWorkflows = 4 … index 4 included). */
function makeFixtures(): Fixtures {
  const layer = blob(Buffer.from(LAYER_BASE64, 'base64'), OCI_LAYER_GZIP);
  const configs: Blob[] = [];
  const manifests: Blob[] = [];
  for (let i = 0; i < 5; i++) {
    const config = blob(
      goJSON({ author: randomBytes(12).toString('base64url'), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
      OCI_CONFIG,
    );
    configs.push(config);
    manifests.push(
      blob(
        goJSON({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: desc(config, {
            data: config.bytes.toString('base64'), // "must be the config content"
            newUnspecifiedField: Buffer.from('hello world').toString('base64'),
          }),
          layers: [desc(layer)],
        }),
        OCI_MANIFEST,
      ),
    );
  }
  return { layer, configs, manifests };
}

// ---------------------------------------------------------------------------------------------
// Requests as the suite's reggie client sends them.

/** "Populate registry with test blob": POST, then PUT <location>?digest= with the whole body. */
async function postPut(repo: string, b: Blob): Promise<Response> {
  const post = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(post.status, 202);
  const loc = post.headers.get('location')!;
  assert.ok(loc, 'POST must return Location');
  return req(base, withQuery(loc, { digest: b.digest }), {
    method: 'PUT',
    headers: { 'Content-Type': OCTET, 'Content-Length': String(b.size) },
    body: b.bytes,
  });
}

function withQuery(location: string, params: Record<string, string>): string {
  const u = new URL(location, base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.pathname + u.search;
}

function is2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

async function putManifestAs(repo: string, ref: string, m: Blob, contentType = m.mediaType): Promise<Response> {
  return req(base, `/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': contentType }, body: m.bytes });
}

// =============================================================================================
describe('conformance 01_pull_test.go (Pull)', () => {
  const repo = 'conformance/pull';
  const fx = makeFixtures();

  before(async () => {
    for (const b of [fx.configs[0]!, fx.configs[1]!, fx.layer]) {
      const res = await postPut(repo, b);
      assert.ok(is2xx(res.status), `populate blob: ${res.status}`);
    }
    assert.ok(is2xx((await putManifestAs(repo, 'tagtest0', fx.manifests[0]!, OCI_MANIFEST)).status));
    assert.ok(is2xx((await putManifestAs(repo, fx.manifests[1]!.digest, fx.manifests[1]!, OCI_MANIFEST)).status));
  });

  test('manifests whose descriptors carry unknown fields (data, newUnspecifiedField) pull back byte-exact by digest and tag', async () => {
    for (const [ref, m] of [[fx.manifests[0]!.digest, fx.manifests[0]!], [fx.manifests[1]!.digest, fx.manifests[1]!], ['tagtest0', fx.manifests[0]!]] as const) {
      for (const method of ['HEAD', 'GET']) {
        const res = await req(base, `/v2/${repo}/manifests/${ref}`, { method, headers: { Accept: OCI_MANIFEST } });
        assert.equal(res.status, 200, `${method} ${ref}`);
        assert.equal(res.headers.get('docker-content-digest'), m.digest);
        if (method === 'GET') assert.deepEqual(Buffer.from(await res.arrayBuffer()), m.bytes);
      }
    }
  });

  test('HEAD and GET of the nonexistent manifest ".INVALID_MANIFEST_NAME" → 404 (HEAD without a body)', async () => {
    const head = await req(base, `/v2/${repo}/manifests/.INVALID_MANIFEST_NAME`, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.equal(await head.text(), '');
    const get = await req(base, `/v2/${repo}/manifests/.INVALID_MANIFEST_NAME`);
    assert.equal(get.status, 404);
  });

  test('HEAD/GET of a blob never pushed (sha256 of "hello world") → 404', async () => {
    const dummy = sha256('hello world');
    assert.equal((await req(base, `/v2/${repo}/blobs/${dummy}`, { method: 'HEAD' })).status, 404);
    assert.equal((await req(base, `/v2/${repo}/blobs/${dummy}`)).status, 404);
  });

  test('teardown with OCI_DELETE_MANIFEST_BEFORE_BLOBS=false: blobs a manifest still uses delete with 2xx, then the manifests', async () => {
    for (const b of [fx.configs[0]!, fx.configs[1]!, fx.layer]) {
      const res = await req(base, `/v2/${repo}/blobs/${b.digest}`, { method: 'DELETE' });
      assert.ok(is2xx(res.status) || res.status === 404 || res.status === 405, `delete blob: ${res.status}`);
      assert.equal((await req(base, `/v2/${repo}/blobs/${b.digest}`)).status, 404);
    }
    for (const m of [fx.manifests[0]!, fx.manifests[1]!]) {
      const res = await req(base, `/v2/${repo}/manifests/${m.digest}`, { method: 'DELETE' });
      assert.ok(is2xx(res.status) || res.status === 405, `delete manifest: ${res.status}`);
      assert.equal((await req(base, `/v2/${repo}/manifests/${m.digest}`, { method: 'HEAD' })).status, 404);
    }
    assert.equal((await req(base, `/v2/${repo}/manifests/tagtest0`, { method: 'HEAD' })).status, 404);
  });
});

// =============================================================================================
describe('conformance 02_push_test.go (Push)', () => {
  const repo = 'conformance/push';
  const crossmount = `conformance-${randomUUID()}`;
  const fx = makeFixtures();

  test('Blob Upload Streamed: PATCH without Content-Range → 202, then PUT ?digest= with an empty body → 201 + Location', async () => {
    const a = blob(randomBytes(42));
    const post = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.ok(post.headers.get('location'));
    const patch = await req(base, post.headers.get('location')!, { method: 'PATCH', headers: { 'Content-Type': OCTET }, body: a.bytes });
    assert.equal(patch.status, 202);
    assert.equal(patch.headers.get('range'), '0-41');
    const put = await req(base, withQuery(patch.headers.get('location')!, { digest: a.digest }), {
      method: 'PUT',
      headers: { 'Content-Type': OCTET, 'Content-Length': '0' },
    });
    assert.equal(put.status, 201);
    const location = put.headers.get('location')!;
    assert.ok(location);
    const get = await req(base, location);
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), a.bytes);
  });

  test('Blob Upload Chunked: the suite\'s exact sequence (416 first, Range after each step, GET on the stale session)', async () => {
    // setup.go setupChunkedBlob(42): chunk 1 is bytes 0-21, chunk 2 bytes 22-41.
    const b = blob(randomBytes(42));
    const c1 = b.bytes.subarray(0, 22);
    const c2 = b.bytes.subarray(22);
    // "Out-of-order blob upload should return 416": chunk 2 first, on a fresh session.
    const first = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': '0' } });
    assert.ok(first.headers.get('location'));
    const ooo = await req(base, first.headers.get('location')!, {
      method: 'PATCH',
      headers: { 'Content-Type': OCTET, 'Content-Length': String(c2.length), 'Content-Range': '22-41' },
      body: c2,
    });
    assert.equal(ooo.status, 416);
    // "PATCH request with first chunk should return 202".
    const post = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': '0' } });
    const postLoc = post.headers.get('location')!;
    const p1 = await req(base, postLoc, {
      method: 'PATCH',
      headers: { 'Content-Type': OCTET, 'Content-Length': String(c1.length), 'Content-Range': '0-21' },
      body: c1,
    });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.get('range'), '0-21');
    // "Retry previous blob chunk should return 416" (sent to the POST's location).
    const retry = await req(base, postLoc, {
      method: 'PATCH',
      headers: { 'Content-Type': OCTET, 'Content-Length': String(c1.length), 'Content-Range': '0-21' },
      body: c1,
    });
    assert.equal(retry.status, 416);
    // "Get on stale blob upload should return 204 with a range and location".
    const status = await req(base, postLoc);
    assert.equal(status.status, 204);
    assert.ok(status.headers.get('location'));
    assert.equal(status.headers.get('range'), '0-21');
    // "PATCH request with second chunk should return 202".
    const p2 = await req(base, status.headers.get('location')!, {
      method: 'PATCH',
      headers: { 'Content-Length': String(c2.length), 'Content-Range': '22-41', 'Content-Type': OCTET },
      body: c2,
    });
    assert.equal(p2.status, 202);
    assert.equal(p2.headers.get('range'), '0-41');
    assert.ok(p2.headers.get('location'));
    // "PUT request with digest should return 201".
    const put = await req(base, withQuery(p2.headers.get('location')!, { digest: b.digest }), {
      method: 'PUT',
      headers: { 'Content-Length': '0', 'Content-Type': OCTET },
    });
    assert.equal(put.status, 201);
    assert.ok(put.headers.get('location'));
  });

  test('Cross-Repository Blob Mount without from, of a digest nobody has → 202 and a session in the target namespace', async () => {
    const res = await req(base, `/v2/${crossmount}/blobs/uploads/?mount=${sha256('hello world')}`, { method: 'POST' });
    assert.equal(res.status, 202);
    assert.ok(res.headers.get('location')!.startsWith(`/v2/${crossmount}/blobs/uploads/`));
  });

  test('Cross-Repository Blob Mount with from → 201, Location is exactly /v2/<crossmount>/blobs/<digest>', async () => {
    const a = blob(randomBytes(42));
    await pushBlob(base, repo, a);
    const res = await req(base, `/v2/${crossmount}/blobs/uploads/?mount=${a.digest}&from=${repo}`, { method: 'POST' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/${crossmount}/blobs/${a.digest}`);
    assert.equal((await req(base, res.headers.get('location')!)).status, 200);
  });

  test('Manifest Upload: a manifest with no layers and no mediaType field (type from Content-Type only) → 201 + Location', async () => {
    assert.equal((await postPut(repo, fx.configs[1]!)).status, 201);
    // setup.go emptyLayerManifest: MediaType is omitempty and unset; config carries data + newUnspecifiedField.
    const empty = blob(
      goJSON({
        schemaVersion: 2,
        config: desc(fx.configs[1]!, { data: fx.configs[1]!.bytes.toString('base64'), newUnspecifiedField: Buffer.from('hello world').toString('base64') }),
        layers: [],
      }),
      OCI_MANIFEST,
    );
    const put = await putManifestAs(repo, 'emptylayer', empty, OCI_MANIFEST);
    assert.equal(put.status, 201);
    const location = put.headers.get('location')!;
    assert.ok(location);
    const get = await req(base, location, { headers: { Accept: OCI_MANIFEST } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-type'), OCI_MANIFEST);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), empty.bytes);
    // Teardown deletes it by digest.
    assert.ok(is2xx((await req(base, `/v2/${repo}/manifests/${empty.digest}`, { method: 'DELETE' })).status));
  });

  test('Manifest Upload: the same manifest PUT to four tags → 201 + Location each time', async () => {
    assert.ok(is2xx((await postPut(repo, fx.layer)).status));
    for (let i = 0; i < 4; i++) {
      const res = await putManifestAs(repo, `test${i}`, fx.manifests[1]!, OCI_MANIFEST);
      assert.equal(res.status, 201);
      assert.ok(res.headers.get('location'));
    }
  });
});

// =============================================================================================
describe('conformance 03_discovery_test.go (Content Discovery: referrers)', () => {
  const repo = 'conformance/discovery';
  const fx = makeFixtures();
  const annotationKey = 'org.opencontainers.conformance.test';
  const typeA = 'application/vnd.nhl.peanut.butter.bagel';
  const typeB = 'application/vnd.nba.strawberry.jam.croissant';
  const typeIndex = 'application/vnd.food.stand';
  const emptyJSON = blob('{}', OCI_EMPTY);
  const refBlobA = blob('NHL Peanut Butter on my NHL bagel', typeA);
  const refBlobB = blob('NBA Strawberry Jam on my NBA croissant', typeB);
  const subject = () => desc(fx.manifests[4]!);
  const annotations: Record<string, string> = {};

  function artifact(fields: Record<string, unknown>): Blob {
    const m = blob(goJSON({ schemaVersion: 2, mediaType: OCI_MANIFEST, ...fields }), OCI_MANIFEST);
    const ann = (fields.annotations as Record<string, string> | undefined)?.[annotationKey];
    if (ann) annotations[m.digest] = ann;
    return m;
  }
  // config.mediaType = artifactType
  const aConfig = artifact({ config: desc(refBlobA), subject: subject(), layers: [desc(emptyJSON)], annotations: { [annotationKey]: 'test config a' } });
  const bConfig = artifact({ config: desc(refBlobB), subject: subject(), layers: [desc(emptyJSON)], annotations: { [annotationKey]: 'test config b' } });
  // artifactType set, config = empty JSON
  const aLayer = artifact({ artifactType: typeA, config: desc(emptyJSON), subject: subject(), layers: [desc(refBlobA)], annotations: { [annotationKey]: 'test layer a' } });
  const bLayer = artifact({ artifactType: typeB, config: desc(emptyJSON), subject: subject(), layers: [desc(refBlobB)], annotations: { [annotationKey]: 'test layer b' } });
  // same as B layer, but its subject (manifests[3]) is never pushed
  const cLayer = artifact({ artifactType: typeB, config: desc(emptyJSON), subject: desc(fx.manifests[3]!), layers: [desc(refBlobB)] });
  // an index with artifactType and subject, over the two A artifacts
  const indexArtifact = blob(
    goJSON({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      artifactType: typeIndex,
      manifests: [desc(aConfig), desc(aLayer)],
      subject: subject(),
      annotations: { [annotationKey]: 'test index' },
    }),
    OCI_INDEX,
  );
  annotations[indexArtifact.digest] = 'test index';

  before(async () => {
    // "Populate registry with test blob / test layer / test tags"
    assert.ok(is2xx((await postPut(repo, fx.configs[2]!)).status));
    assert.ok(is2xx((await postPut(repo, fx.layer)).status));
    for (let i = 0; i < 4; i++) assert.ok(is2xx((await putManifestAs(repo, `test${i}`, fx.manifests[2]!, OCI_MANIFEST)).status));
  });

  test('References setup: every referrer push → 2xx with OCI-Subject, referrers (and an index referrer) before their subject', async () => {
    assert.equal(emptyJSON.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    assert.ok(is2xx((await postPut(repo, emptyJSON)).status));
    assert.ok(is2xx((await postPut(repo, refBlobA)).status));
    const expectSubject = async (m: Blob, contentType: string, subjectDigest: string) => {
      const res = await putManifestAs(repo, m.digest, m, contentType);
      assert.ok(is2xx(res.status), `push ${m.digest}: ${res.status} ${await res.text()}`);
      assert.equal(res.headers.get('oci-subject'), subjectDigest);
    };
    await expectSubject(aConfig, OCI_MANIFEST, fx.manifests[4]!.digest);
    await expectSubject(aLayer, OCI_MANIFEST, fx.manifests[4]!.digest);
    await expectSubject(indexArtifact, OCI_INDEX, fx.manifests[4]!.digest);
    assert.ok(is2xx((await postPut(repo, fx.configs[4]!)).status));
    assert.ok(is2xx((await postPut(repo, fx.layer)).status));
    assert.ok(is2xx((await putManifestAs(repo, 'tagtest0', fx.manifests[4]!, OCI_MANIFEST)).status));
    assert.ok(is2xx((await postPut(repo, refBlobB)).status));
    await expectSubject(bConfig, OCI_MANIFEST, fx.manifests[4]!.digest);
    await expectSubject(bLayer, OCI_MANIFEST, fx.manifests[4]!.digest);
    await expectSubject(cLayer, OCI_MANIFEST, fx.manifests[3]!.digest);
  });

  test('GET referrers of the subject → 200 OCI index with all 5, each carrying its one annotation', async () => {
    const res = await req(base, `/v2/${repo}/referrers/${fx.manifests[4]!.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    const index = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: { digest: string; annotations?: Record<string, string> }[] };
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.equal(index.manifests.length, 5);
    assert.notEqual(index.manifests[0]!.digest, index.manifests[1]!.digest);
    for (const m of index.manifests) {
      assert.equal(Object.keys(m.annotations ?? {}).length, 1, m.digest);
      assert.equal(m.annotations![annotationKey], annotations[m.digest]);
    }
  });

  test('referrer descriptors: artifactType from the manifest, else config.mediaType; an index keeps its artifactType; mediaType and size are the referrer\'s', async () => {
    // spec.md: "The descriptors MUST include an artifactType field that is set to the value of the artifactType in the
    // image manifest or index, if present. If the artifactType is empty or missing in the image manifest, the value of
    // artifactType MUST be set to the config descriptor mediaType value."
    const res = await req(base, `/v2/${repo}/referrers/${fx.manifests[4]!.digest}`);
    const index = (await res.json()) as { manifests: { digest: string; mediaType: string; size: number; artifactType?: string }[] };
    const byDigest = new Map(index.manifests.map((m) => [m.digest, m]));
    const expected: [Blob, string, string][] = [
      [aConfig, OCI_MANIFEST, typeA],
      [bConfig, OCI_MANIFEST, typeB],
      [aLayer, OCI_MANIFEST, typeA],
      [bLayer, OCI_MANIFEST, typeB],
      [indexArtifact, OCI_INDEX, typeIndex],
    ];
    for (const [m, mediaType, artifactType] of expected) {
      const d = byDigest.get(m.digest);
      assert.ok(d, `missing ${m.digest}`);
      assert.equal(d.mediaType, mediaType);
      assert.equal(d.size, m.size);
      assert.equal(d.artifactType, artifactType);
    }
  });

  test('GET referrers with artifactType filter → OCI-Filters-Applied: artifactType and exactly the 2 of that type (config-typed included)', async () => {
    const res = await req(base, `/v2/${repo}/referrers/${fx.manifests[4]!.digest}?artifactType=${encodeURIComponent(typeA)}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    const index = (await res.json()) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [aConfig.digest, aLayer.digest].sort());
    for (const m of index.manifests) assert.equal(m.annotations[annotationKey], annotations[m.digest]);
    // The index referrer is found by its own artifactType.
    const byIndexType = await req(base, `/v2/${repo}/referrers/${fx.manifests[4]!.digest}?artifactType=${encodeURIComponent(typeIndex)}`);
    assert.deepEqual(((await byIndexType.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest), [indexArtifact.digest]);
  });

  test('Teardown (OCI_DELETE_MANIFEST_BEFORE_BLOBS=true order): subject deleted before its referrers; then blobs delete with 2xx, not 404', async () => {
    const refs = [indexArtifact.digest, fx.manifests[2]!.digest, fx.manifests[4]!.digest, aConfig.digest, aLayer.digest, 'tagtest0', bConfig.digest, bLayer.digest, cLayer.digest];
    for (const ref of refs) {
      const res = await req(base, `/v2/${repo}/manifests/${ref}`, { method: 'DELETE' });
      assert.ok(is2xx(res.status) || res.status === 404 || res.status === 405, `${ref}: ${res.status}`);
    }
    // "Delete config blob created in tests" / "Delete layer blob created in setup": 2xx or 405 only.
    for (const b of [fx.configs[2]!, fx.layer]) {
      const res = await req(base, `/v2/${repo}/blobs/${b.digest}`, { method: 'DELETE' });
      assert.ok(is2xx(res.status) || res.status === 405, `${b.digest}: ${res.status}`);
    }
    for (const b of [fx.configs[4]!, refBlobA, refBlobB, emptyJSON]) {
      const res = await req(base, `/v2/${repo}/blobs/${b.digest}`, { method: 'DELETE' });
      assert.ok(is2xx(res.status) || res.status === 404 || res.status === 405);
    }
    const after = await req(base, `/v2/${repo}/referrers/${fx.manifests[4]!.digest}`);
    assert.equal(after.status, 200);
    assert.deepEqual(((await after.json()) as { manifests: unknown[] }).manifests, []);
  });
});

// =============================================================================================
describe('conformance run.go / api.go (main-branch runner): checks the v1.1 suite lacks', () => {
  const repo = 'conformance/runner';

  test('chunked out-of-order, last chunk in the PUT: every out-of-order PATCH/PUT → 416, GET shows the last good Range, then 201', async () => {
    // api.go BlobPatchChunked with flags OutOfOrderChunks + PutLastChunk.
    const b = blob(randomBytes(512 * 3 - 5));
    const body = b.bytes;
    const chunk = Math.floor(body.length / 3) + 1;
    const post = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': '0' } });
    assert.equal(post.status, 202);
    let loc = post.headers.get('location')!;
    let lastByte = -1;
    while (lastByte < body.length - 1) {
      let badStart = lastByte + 1 + chunk;
      if (badStart >= body.length) badStart = 0;
      const badLast = Math.min(badStart + chunk - 1, body.length - 1);
      const badIsLast = badLast === body.length - 1;
      const bad = await req(base, badIsLast ? withQuery(loc, { digest: b.digest }) : loc, {
        method: badIsLast ? 'PUT' : 'PATCH',
        headers: { 'Content-Type': OCTET, 'Content-Range': `${badStart}-${badLast}` },
        body: body.subarray(badStart, badLast + 1),
      });
      assert.equal(bad.status, 416, `out-of-order ${badIsLast ? 'PUT' : 'PATCH'} ${badStart}-${badLast}`);
      const status = await req(base, loc);
      assert.equal(status.status, 204);
      loc = status.headers.get('location') ?? loc;
      const range = status.headers.get('range')!;
      assert.match(range, /^0-\d+$/);
      if (lastByte >= 0) assert.equal(range, `0-${lastByte}`);
      const start = lastByte + 1;
      lastByte = Math.min(start + chunk - 1, body.length - 1);
      const isLast = lastByte === body.length - 1;
      const res = await req(base, isLast ? withQuery(loc, { digest: b.digest }) : loc, {
        method: isLast ? 'PUT' : 'PATCH',
        headers: { 'Content-Type': OCTET, 'Content-Range': `${start}-${lastByte}` },
        body: body.subarray(start, lastByte + 1),
      });
      assert.equal(res.status, isLast ? 201 : 202);
      loc = res.headers.get('location') ?? loc;
    }
    assert.equal(loc, `/v2/${repo}/blobs/${b.digest}`);
    assert.deepEqual(Buffer.from(await (await req(base, loc)).arrayBuffer()), body);
  });

  test('the empty blob by streamed PATCH and by POST+PUT: 201, HEAD and GET Content-Length 0', async () => {
    const empty = blob(Buffer.alloc(0));
    const post = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': '0' } });
    const patch = await req(base, post.headers.get('location')!, { method: 'PATCH', headers: { 'Content-Type': OCTET }, body: Buffer.alloc(0) });
    assert.equal(patch.status, 202);
    const put = await req(base, withQuery(patch.headers.get('location')!, { digest: empty.digest }), { method: 'PUT', headers: { 'Content-Length': '0' } });
    assert.equal(put.status, 201);
    assert.ok(put.headers.get('location'));
    assert.equal((await postPut('conformance/runner-empty', empty)).status, 201);
    for (const r of [repo, 'conformance/runner-empty']) {
      const head = await req(base, `/v2/${r}/blobs/${empty.digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), '0');
      assert.equal(head.headers.get('docker-content-digest'), empty.digest);
      const get = await req(base, `/v2/${r}/blobs/${empty.digest}`);
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('content-length'), '0');
      assert.equal((await get.arrayBuffer()).byteLength, 0);
    }
  });

  test('sha512: blobs (POST+PUT and chunked), an image and an index pushed by sha512 digest, pulled with that digest', async () => {
    const r = 'conformance/sha512';
    const s512 = (b: Buffer) => `sha512:${createHash('sha512').update(b).digest('hex')}`;
    const mk = (bytes: Buffer, mediaType: string): Blob => ({ digest: s512(bytes), size: bytes.length, bytes, mediaType });
    const config = mk(goJSON({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }), OCI_CONFIG);
    const layer = mk(Buffer.from(LAYER_BASE64, 'base64'), OCI_LAYER_GZIP);
    assert.equal((await postPut(r, config)).status, 201);
    const post = await req(base, `/v2/${r}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': '0' } });
    const half = Math.floor(layer.size / 2);
    const p = await req(base, post.headers.get('location')!, { method: 'PATCH', headers: { 'Content-Range': `0-${half - 1}` }, body: layer.bytes.subarray(0, half) });
    assert.equal(p.status, 202);
    const put = await req(base, withQuery(p.headers.get('location')!, { digest: layer.digest }), {
      method: 'PUT',
      headers: { 'Content-Range': `${half}-${layer.size - 1}` },
      body: layer.bytes.subarray(half),
    });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), layer.digest);
    const image = mk(goJSON({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(config), layers: [desc(layer)] }), OCI_MANIFEST);
    const index = mk(goJSON({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(image, { platform: { architecture: 'amd64', os: 'linux' } })] }), OCI_INDEX);
    for (const m of [image, index]) {
      const res = await putManifestAs(r, m.digest, m);
      assert.equal(res.status, 201, await res.text());
      assert.equal(res.headers.get('docker-content-digest'), m.digest);
      const location = res.headers.get('location')!;
      const get = await req(base, location, { headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('content-type'), m.mediaType);
      assert.equal(get.headers.get('content-length'), String(m.size));
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), m.bytes);
    }
    const head = await req(base, `/v2/${r}/blobs/${layer.digest}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(layer.size));
    assert.equal(head.headers.get('docker-content-digest'), layer.digest);
  });

  test('large manifest (390 annotations of 10,000 bytes, ~3.9 MB, under the 4 MB the spec says to expect) → 201 and byte-exact GET', async () => {
    const r = 'conformance/large';
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    for (const b of [img.config, ...img.layers]) await pushBlob(base, r, b);
    const parsed = JSON.parse(img.manifest.bytes.toString()) as Record<string, unknown>;
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i++) annotations[`large-annotation-${i}`] = 'A'.repeat(10000);
    const large = blob(goJSON({ ...parsed, annotations }), OCI_MANIFEST);
    assert.ok(large.size > 3_900_000);
    const put = await putManifestAs(r, 'large-manifest', large);
    assert.equal(put.status, 201, await put.text());
    const get = await req(base, `/v2/${r}/manifests/large-manifest`, { headers: { Accept: OCI_MANIFEST } });
    assert.equal(get.headers.get('content-length'), String(large.size));
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), large.bytes);
  });

  test('index of indexes, empty index, and an artifact index with a subject (OCI-Subject on the index push)', async () => {
    const r = 'conformance/indexes';
    const imgs = await Promise.all(
      [['amd64', 'linux'], ['arm64', 'linux'], ['amd64', 'linux'], ['arm64', 'linux']].map(([architecture, os]) => makeImage({ os: os!, architecture: architecture! })),
    );
    for (const img of imgs) await pushImage(base, r, img);
    const idx = (children: Blob[], extra: Record<string, unknown> = {}) =>
      blob(goJSON({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => desc(c)), ...extra }), OCI_INDEX);
    const i1 = idx([imgs[0]!.manifest, imgs[1]!.manifest]);
    const i2 = idx([imgs[2]!.manifest, imgs[3]!.manifest]);
    const top = idx([i1, i2]);
    const empty = idx([]);
    for (const [ref, m] of [[i1.digest, i1], [i2.digest, i2], ['index-of-index', top], ['empty-index', empty]] as const) {
      const res = await putManifestAs(r, ref, m);
      assert.equal(res.status, 201, `${ref}: ${await res.text()}`);
      const get = await req(base, `/v2/${r}/manifests/${ref}`, { headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
      assert.equal(get.headers.get('content-type'), OCI_INDEX);
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), m.bytes);
    }
    const emptyJSON = blob('{}', OCI_EMPTY);
    await pushBlob(base, r, emptyJSON);
    const payload = blob('conf1 payload', 'application/vnd.example.conf1');
    await pushBlob(base, r, payload);
    const art = blob(goJSON({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.conf1', config: desc(emptyJSON), layers: [desc(payload)] }), OCI_MANIFEST);
    assert.equal((await putManifestAs(r, art.digest, art)).status, 201);
    const artIndex = idx([art], { artifactType: 'application/vnd.example.conf1', subject: desc(top), annotations: { 'org.opencontainers.conformance': 'hello conformance test' } });
    const res = await putManifestAs(r, 'tagged-artifact', artIndex);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('oci-subject'), top.digest);
    const refs = (await (await req(base, `/v2/${r}/referrers/${top.digest}`)).json()) as { manifests: { digest: string; mediaType: string; artifactType: string }[] };
    assert.deepEqual(refs.manifests, [
      { mediaType: OCI_INDEX, digest: artIndex.digest, size: artIndex.size, artifactType: 'application/vnd.example.conf1', annotations: { 'org.opencontainers.conformance': 'hello conformance test' } },
    ]);
  });

  test('an ordinary image with a subject is a referrer whose artifactType is its config mediaType', async () => {
    const r = 'conformance/image-referrer';
    const subject = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, r, subject, 'image');
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    for (const b of [img.config, ...img.layers]) await pushBlob(base, r, b);
    const parsed = JSON.parse(img.manifest.bytes.toString()) as Record<string, unknown>;
    const withSubject = blob(goJSON({ ...parsed, subject: desc(subject.manifest) }), OCI_MANIFEST);
    const put = await putManifestAs(r, withSubject.digest, withSubject);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('oci-subject'), subject.manifest.digest);
    const list = (await (await req(base, `/v2/${r}/referrers/${subject.manifest.digest}`)).json()) as { manifests: { digest: string; artifactType?: string }[] };
    assert.deepEqual(list.manifests.map((m) => [m.digest, m.artifactType]), [[withSubject.digest, OCI_CONFIG]]);
    const filtered = await req(base, `/v2/${r}/referrers/${subject.manifest.digest}?artifactType=${encodeURIComponent(OCI_CONFIG)}`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.equal(((await filtered.json()) as { manifests: unknown[] }).manifests.length, 1);
  });

  test('non-distributable layers with urls need not be pushed; the manifest is accepted and served', async () => {
    const r = 'conformance/nondist';
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    for (const b of [img.config, ...img.layers]) await pushBlob(base, r, b);
    const parsed = JSON.parse(img.manifest.bytes.toString()) as { layers: unknown[] } & Record<string, unknown>;
    const foreign = (mediaType: string, size: number) => {
      const d = sha256(randomBytes(256));
      return { mediaType, digest: d, size, urls: [`https://store.example.com/blobs/sha256/${d.slice(7)}`] };
    };
    const m = blob(
      goJSON({
        ...parsed,
        layers: [foreign('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 123456), foreign('application/vnd.oci.image.layer.nondistributable.v1.tar', 12345), ...parsed.layers],
      }),
      OCI_MANIFEST,
    );
    const put = await putManifestAs(r, 'non-distributable-image', m);
    assert.equal(put.status, 201, await put.text());
    const get = await req(base, `/v2/${r}/manifests/non-distributable-image`, { headers: { Accept: OCI_MANIFEST } });
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), m.bytes);
  });

  test('PUT manifest to "sha256:baddigeststring" → 400; GET of it → 400 or 404', async () => {
    const r = 'conformance/baddigest';
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    for (const b of [img.config, ...img.layers]) await pushBlob(base, r, b);
    const put = await putManifestAs(r, 'sha256:baddigeststring', img.manifest);
    assert.equal(put.status, 400);
    assert.ok(OCI_ERROR_CODES.includes((await errorCode(put))!));
    const get = await req(base, `/v2/${r}/manifests/sha256:baddigeststring`, { headers: { Accept: OCI_MANIFEST } });
    assert.ok([400, 404].includes(get.status));
  });

  test('referrers of a repository that does not exist → 200 and an empty OCI index ("MUST NOT return a 404")', async () => {
    const res = await req(base, `/v2/conformance/never-pushed-${randomUUID().slice(0, 8)}/referrers/${sha256(randomBytes(16))}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    const body = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: unknown[] };
    assert.deepEqual(body, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
  });
});

// =============================================================================================
describe('spec requirements the conformance suite does not check', () => {
  const repo = 'conformance/gaps';

  test('Range with a unit the server does not understand is ignored: 200 and the whole blob (spec.md SHOULD support Range "in accordance with RFC 9110"; RFC 9110 §14.2 MUST ignore)', async () => {
    const b = blob(Buffer.from('0123456789abcdefghij'));
    await pushBlob(base, repo, b);
    const res = await req(base, `/v2/${repo}/blobs/${b.digest}`, { headers: { Range: 'items=0-1' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '0123456789abcdefghij');
  });

  // spec.md "Error Codes": "If the response body is in JSON format, it MUST have the following format … The `code`
  // field MUST be one of the following" (code-1 … code-14; TAG_INVALID/MANIFEST_UNVERIFIED as legacy Docker codes).
  const errorCases: { name: string; run: () => Promise<Response>; status: number }[] = [
    { name: 'unknown route under /v2/<name>/ → 404', status: 404, run: () => req(base, `/v2/${repo}/nothing/here`) },
    {
      name: 'manifest over the size limit → 413',
      status: 413,
      run: async () => {
        const huge = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, annotations: { pad: 'x'.repeat(4 * 1024 * 1024 + 1) } }), OCI_MANIFEST);
        return pushManifest(base, repo, 'huge', huge);
      },
    },
    {
      name: 'out-of-order chunk → 416',
      status: 416,
      run: async () => {
        const post = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
        return req(base, post.headers.get('location')!, { method: 'PATCH', headers: { 'Content-Range': '5-7' }, body: 'abc' });
      },
    },
    {
      name: 'unsatisfiable blob Range → 416',
      status: 416,
      run: async () => {
        const b = blob(Buffer.from('twenty bytes of data'));
        await pushBlob(base, repo, b);
        return req(base, `/v2/${repo}/blobs/${b.digest}`, { headers: { Range: 'bytes=100-' } });
      },
    },
    {
      name: 'tags/list with n=-1 → 400',
      status: 400,
      run: async () => {
        const img = await makeImage({ os: 'linux', architecture: 'amd64' });
        await pushImage(base, repo, img, 'v1');
        return req(base, `/v2/${repo}/tags/list?n=-1`);
      },
    },
  ];
  for (const c of errorCases) {
    test(`error body code is one of the spec's codes: ${c.name}`, async () => {
      const res = await c.run();
      assert.equal(res.status, c.status);
      if ((res.headers.get('content-type') ?? '').includes('json')) {
        const body = (await res.json()) as { errors?: { code: string }[] };
        assert.ok(Array.isArray(body.errors) && body.errors.length > 0, 'JSON error body must be {"errors":[…]}');
        for (const e of body.errors) assert.ok(OCI_ERROR_CODES.includes(e.code), `code ${e.code} is not an OCI error code`);
      }
    });
  }

  test('referrers: an image manifest with an empty artifactType is listed with artifactType = config.mediaType, and found by that filter', async () => {
    // spec.md "Listing Referrers": "If the artifactType is empty or missing in the image manifest, the value of
    // artifactType MUST be set to the config descriptor mediaType value."
    const r = 'conformance/empty-artifacttype';
    const subject = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, r, subject, 'v1');
    const config = blob(goJSON({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }), OCI_CONFIG);
    await pushBlob(base, r, config);
    const m = blob(goJSON({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: '', config: desc(config), layers: [], subject: desc(subject.manifest) }), OCI_MANIFEST);
    const put = await putManifestAs(r, m.digest, m);
    assert.equal(put.status, 201);
    const list = (await (await req(base, `/v2/${r}/referrers/${subject.manifest.digest}`)).json()) as { manifests: { digest: string; artifactType?: string }[] };
    assert.deepEqual(list.manifests.map((d) => [d.digest, d.artifactType]), [[m.digest, OCI_CONFIG]]);
    const filtered = (await (await req(base, `/v2/${r}/referrers/${subject.manifest.digest}?artifactType=${encodeURIComponent(OCI_CONFIG)}`)).json()) as { manifests: { digest: string }[] };
    assert.deepEqual(filtered.manifests.map((d) => d.digest), [m.digest]);
  });

  test('tags are listed in case-insensitive lexical order, and last/n page in that order (spec.md "Listing Tags" MUST; conformance accepts byte order too)', async () => {
    const r = 'conformance/tag-case';
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, r, img);
    for (const t of ['b', 'A', 'a1', 'C', 'B2', 'a']) assert.equal((await pushManifest(base, r, t, img.manifest)).status, 201);
    const all = (await (await req(base, `/v2/${r}/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(all.tags, ['A', 'a', 'a1', 'b', 'B2', 'C']);
    const page = (await (await req(base, `/v2/${r}/tags/list?n=2&last=a1`)).json()) as { tags: string[] };
    assert.deepEqual(page.tags, ['b', 'B2']);
    // Names equal but for case keep a stable order (byte order), so paging never skips or repeats one.
    const tie = (await (await req(base, `/v2/${r}/tags/list?n=1&last=A`)).json()) as { tags: string[] };
    assert.deepEqual(tie.tags, ['a']);
  });
});
