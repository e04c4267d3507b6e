import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allPages, getJson, patch, pushMultiArchRepo, type Attributes } from '../helpers/acr.js';
import { errorCode, pushImage, req } from '../helpers/http.js';
import { makeImage, type TestImage } from '../helpers/images.js';
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let base: string;
let fx: Awaited<ReturnType<typeof pushMultiArchRepo>>;
const REPO = 'acr/app';
const ALL_ON: Attributes = { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

before(async () => {
  srv = await startTestServer({ catalogPageSize: 100 });
  base = srv.url;
  fx = await pushMultiArchRepo(base, REPO);
  for (const r of ['acr/other1', 'acr/other2']) await pushImage(base, r, await makeImage({ os: 'linux', architecture: 'amd64' }), 'v1');
});
after(() => srv.stop());

const imageSize = (i: TestImage) => i.config.size + i.layers.reduce((n, l) => n + l.size, 0);

interface TagJson {
  name: string;
  digest: string;
  createdTime: string;
  lastUpdateTime: string;
  signed: boolean;
  changeableAttributes: Attributes;
}
interface ManifestJson {
  digest: string;
  imageSize: number;
  createdTime: string;
  lastUpdateTime: string;
  architecture?: string;
  os?: string;
  variant?: string;
  mediaType: string;
  configMediaType?: string;
  tags: string[];
  references?: { digest: string; architecture?: string; os?: string; variant?: string }[];
  changeableAttributes: Attributes;
}

describe('catalog and repository', () => {
  test('_catalog lists repositories and pages with Link', async () => {
    const { body } = await getJson(base, '/acr/v1/_catalog');
    assert.deepEqual(body, { repositories: ['acr/app', 'acr/other1', 'acr/other2'] });
    assert.deepEqual(await allPages(base, '/acr/v1/_catalog?n=2', 'repositories'), [['acr/app', 'acr/other1'], ['acr/other2']]);
    const { link } = await getJson(base, '/acr/v1/_catalog?n=1&last=acr/app');
    assert.equal(link, '</acr/v1/_catalog?n=1&last=acr%2Fother1>; rel="next"');
  });
  test('GET /acr/v1/{name}: counts, times, attributes, and the Host as registry', async () => {
    const { status, body } = await getJson<Record<string, unknown>>(base, `/acr/v1/${REPO}`);
    assert.equal(status, 200);
    assert.equal(body.registry, srv.host);
    assert.equal(body.imageName, REPO);
    assert.equal(body.manifestCount, 6);
    assert.equal(body.tagCount, 4);
    assert.match(body.createdTime as string, ISO);
    assert.match(body.lastUpdateTime as string, ISO);
    assert.ok((body.lastUpdateTime as string) >= (body.createdTime as string));
    assert.deepEqual(body.changeableAttributes, ALL_ON);
  });
  test('a percent-encoded name (as Azure SDKs send it) is the same repository', async () => {
    const { status, body } = await getJson<{ imageName: string }>(base, `/acr/v1/${encodeURIComponent(REPO)}/_tags`);
    assert.equal(status, 200);
    assert.equal(body.imageName, REPO);
  });
  test('unknown and invalid names', async () => {
    for (const path of ['/acr/v1/acr/none', '/acr/v1/acr/none/_tags', '/acr/v1/acr/none/_manifests', '/acr/v1/acr/none/_tags/v1']) {
      const res = await req(base, path);
      assert.equal(res.status, 404, path);
      assert.equal(await errorCode(res), 'NAME_UNKNOWN');
    }
    for (const path of ['/acr/v1/Bad/_tags', '/acr/v1/a%2F..%2Fb', '/acr/v1/_tags']) {
      const res = await req(base, path);
      assert.equal(res.status, 400, path);
      assert.equal(await errorCode(res), 'NAME_INVALID');
    }
  });
  test('unsupported methods name what is allowed; unknown routes are 404', async () => {
    const res = await req(base, `/acr/v1/${REPO}/_manifests`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    assert.equal(await errorCode(res), 'UNSUPPORTED');
    const none = await req(base, '/acr/v1/');
    assert.equal(none.status, 404);
    assert.equal(await errorCode(none), 'UNSUPPORTED');
  });
});

describe('tags', () => {
  const path = `/acr/v1/${REPO}/_tags`;
  const names = async (p: string) => (await allPages<TagJson>(base, p, 'tags')).flat().map((t) => t.name);

  test('envelope and every field of a tag', async () => {
    const { body } = await getJson<{ registry: string; imageName: string; tags: TagJson[] }>(base, path);
    assert.equal(body.registry, srv.host);
    assert.equal(body.imageName, REPO);
    const latest = body.tags.find((t) => t.name === 'latest')!;
    assert.equal(latest.digest, fx.index.digest);
    assert.match(latest.createdTime, ISO);
    assert.equal(latest.signed, true, 'the index has a Notary signature');
    assert.equal(body.tags.find((t) => t.name === 'amd64')!.signed, false);
    assert.deepEqual(latest.changeableAttributes, ALL_ON);
  });
  test('default order is by name (lexical), and paging by n/last follows it', async () => {
    assert.deepEqual(await names(path), ['1.0', 'amd64', 'arm64', 'latest']);
    const pages = await allPages<TagJson>(base, `${path}?n=3`, 'tags');
    assert.deepEqual(pages.map((p) => p.map((t) => t.name)), [['1.0', 'amd64', 'arm64'], ['latest']]);
    assert.deepEqual(await names(`${path}?last=amd64`), ['arm64', 'latest']);
    assert.deepEqual(await names(`${path}?n=0`), []);
  });
  test('orderby timedesc / timeasc (and time_desc / time_asc), paged: last names the previous page\'s last tag', async () => {
    const newestFirst = ['latest', '1.0', 'arm64', 'amd64'];
    for (const o of ['timedesc', 'time_desc']) assert.deepEqual(await names(`${path}?orderby=${o}`), newestFirst);
    for (const o of ['timeasc', 'time_asc']) assert.deepEqual(await names(`${path}?orderby=${o}`), [...newestFirst].reverse());
    for (const n of [1, 2, 3]) {
      const pages = await allPages<TagJson>(base, `${path}?orderby=timedesc&n=${n}`, 'tags');
      assert.deepEqual(pages.flat().map((t) => t.name), newestFirst, `n=${n}`);
      assert.equal(pages.length, Math.ceil(4 / n));
    }
    const res = await req(base, `${path}?orderby=timedesc&n=2`);
    assert.equal(res.headers.get('link'), `</acr/v1/${REPO}/_tags?orderby=timedesc&n=2&last=1.0>; rel="next"`);
    assert.deepEqual(await names(`${path}?orderby=timeasc&last=arm64`), ['1.0', 'latest']);
  });
  test('ties in time are broken by name, so paging neither skips nor repeats', async () => {
    // Tags pushed in one request burst can share a millisecond; every page size must still see each once.
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'acr/ties', img, 't0');
    await Promise.all(['t1', 't2', 't3', 't4', 't5'].map((t) => req(base, `/v2/acr/ties/manifests/${t}`, { method: 'PUT', headers: { 'Content-Type': img.manifest.mediaType }, body: img.manifest.bytes })));
    for (const order of ['timeasc', 'timedesc']) {
      const whole = await names(`/acr/v1/acr/ties/_tags?orderby=${order}`);
      assert.deepEqual([...whole].sort(), ['t0', 't1', 't2', 't3', 't4', 't5']);
      for (const n of [1, 2, 4]) assert.deepEqual(await names(`/acr/v1/acr/ties/_tags?orderby=${order}&n=${n}`), whole, `${order} n=${n}`);
    }
  });
  test('digest= filters to the tags of one manifest, and the Link keeps the filter', async () => {
    assert.deepEqual(await names(`${path}?digest=${fx.index.digest}`), ['1.0', 'latest']);
    const res = await req(base, `${path}?digest=${fx.index.digest}&n=1`);
    assert.equal(res.headers.get('link'), `</acr/v1/${REPO}/_tags?digest=${encodeURIComponent(fx.index.digest)}&n=1&last=1.0>; rel="next"`);
    assert.deepEqual(await names(`${path}?digest=${fx.amd.config.digest}`), []);
  });
  test('bad queries: orderby, digest, n, and a time-order last that names nothing', async () => {
    const cases: [string, number, string][] = [
      [`${path}?orderby=size`, 400, 'UNSUPPORTED'],
      [`${path}?digest=sha256:nothex`, 400, 'DIGEST_INVALID'],
      [`${path}?n=-1`, 400, 'UNSUPPORTED'],
      [`${path}?orderby=timedesc&last=gone`, 404, 'MANIFEST_UNKNOWN'],
    ];
    for (const [p, status, code] of cases) {
      const res = await req(base, p);
      assert.equal(res.status, status, p);
      assert.equal(await errorCode(res), code, p);
    }
  });
  test('GET one tag: the Azure envelope {registry, imageName, tag}', async () => {
    const { status, body } = await getJson<{ registry: string; imageName: string; tag: TagJson }>(base, `${path}/arm64`);
    assert.equal(status, 200);
    assert.equal(body.registry, srv.host);
    assert.equal(body.imageName, REPO);
    assert.equal(body.tag.name, 'arm64');
    assert.equal(body.tag.digest, fx.arm.manifest.digest);
    for (const p of [`${path}/nope`, `${path}/.hidden`, `${path}/${'x'.repeat(200)}`]) {
      const res = await req(base, p);
      assert.equal(res.status, 404, p);
      assert.equal(await errorCode(res), 'MANIFEST_UNKNOWN');
    }
  });
});

describe('manifests', () => {
  const path = `/acr/v1/${REPO}/_manifests`;
  const list = async (p: string) => (await allPages<ManifestJson>(base, p, 'manifests')).flat();

  test('every manifest, by digest; an image: platform, config type, sizes of config + layers', async () => {
    const { body } = await getJson<{ registry: string; imageName: string; manifests: ManifestJson[] }>(base, path);
    assert.equal(body.registry, srv.host);
    assert.equal(body.imageName, REPO);
    const digests = body.manifests.map((m) => m.digest);
    assert.deepEqual(digests, [...digests].sort());
    assert.deepEqual(
      [...digests].sort(),
      [fx.amd, fx.arm, ...fx.attestations].map((i) => i.manifest.digest).concat(fx.index.digest, fx.signature.digest).sort(),
    );
    const arm = body.manifests.find((m) => m.digest === fx.arm.manifest.digest)!;
    assert.deepEqual(
      { ...arm, createdTime: undefined, lastUpdateTime: undefined },
      {
        digest: fx.arm.manifest.digest,
        imageSize: imageSize(fx.arm),
        createdTime: undefined,
        lastUpdateTime: undefined,
        architecture: 'arm64',
        os: 'linux',
        variant: 'v8',
        mediaType: OCI_MANIFEST,
        configMediaType: OCI_CONFIG,
        tags: ['arm64'],
        changeableAttributes: ALL_ON,
      },
    );
    assert.match(arm.createdTime, ISO);
  });
  test('an index: its references with platforms, and an image size that counts its children', async () => {
    const { body } = await getJson<{ manifest: ManifestJson }>(base, `${path}/${fx.index.digest}`);
    const m = body.manifest;
    assert.equal(m.mediaType, OCI_INDEX);
    assert.deepEqual(m.tags, ['1.0', 'latest']);
    assert.equal(m.architecture, undefined);
    assert.equal(m.imageSize, [fx.amd, fx.arm, ...fx.attestations].map(imageSize).reduce((a, b) => a + b));
    assert.deepEqual(m.references, [
      { digest: fx.amd.manifest.digest, architecture: 'amd64', os: 'linux' },
      { digest: fx.arm.manifest.digest, architecture: 'arm64', os: 'linux', variant: 'v8' },
      ...fx.attestations.map((a) => ({ digest: a.manifest.digest, architecture: 'unknown', os: 'unknown' })),
    ]);
  });
  test('orderby, paging with n/last and Link in each order', async () => {
    const byDigest = (await list(path)).map((m) => m.digest);
    for (const n of [1, 4, 6]) assert.deepEqual((await list(`${path}?n=${n}`)).map((m) => m.digest), byDigest, `n=${n}`);
    const asc = (await list(`${path}?orderby=timeasc`)).map((m) => m.digest);
    assert.deepEqual([...asc].sort(), byDigest);
    assert.equal(asc.indexOf(fx.amd.manifest.digest) < asc.indexOf(fx.arm.manifest.digest), true);
    assert.equal(asc.indexOf(fx.arm.manifest.digest) < asc.indexOf(fx.index.digest), true);
    const desc = (await list(`${path}?orderby=time_desc`)).map((m) => m.digest);
    assert.deepEqual(desc, [...asc].reverse());
    for (const n of [1, 4]) {
      assert.deepEqual((await list(`${path}?orderby=timedesc&n=${n}`)).map((m) => m.digest), desc, `timedesc n=${n}`);
      assert.deepEqual((await list(`${path}?orderby=timeasc&n=${n}`)).map((m) => m.digest), asc, `timeasc n=${n}`);
    }
    const res = await req(base, `${path}?orderby=timeasc&n=1`);
    assert.equal(res.headers.get('link'), `</acr/v1/${REPO}/_manifests?orderby=timeasc&n=1&last=${encodeURIComponent(asc[0]!)}>; rel="next"`);
  });
  test('bad digests and unknown manifests', async () => {
    const bad = await req(base, `${path}/sha256:123`);
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'DIGEST_INVALID');
    const unknown = await req(base, `${path}/${fx.amd.config.digest}`);
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), 'MANIFEST_UNKNOWN');
    const cursor = await req(base, `${path}?orderby=timeasc&last=${fx.amd.config.digest}`);
    assert.equal(cursor.status, 404);
  });
});

describe('PATCH changeableAttributes', () => {
  const targets = () => [`/acr/v1/${REPO}`, `/acr/v1/${REPO}/_tags/amd64`, `/acr/v1/${REPO}/_manifests/${fx.amd.manifest.digest}`];
  const attributesOf = (body: Record<string, unknown>): Attributes =>
    ((body.tag ?? body.manifest ?? body) as { changeableAttributes: Attributes }).changeableAttributes;

  test('a partial object changes only what it names, and the answer shows the result', async () => {
    for (const p of targets()) {
      const res = await patch(base, p, { deleteEnabled: false });
      assert.equal(res.status, 200, p);
      assert.deepEqual(attributesOf((await res.json()) as Record<string, unknown>), { ...ALL_ON, deleteEnabled: false });
      const again = await patch(base, p, { listEnabled: true, deleteEnabled: true });
      assert.deepEqual(attributesOf((await again.json()) as Record<string, unknown>), ALL_ON);
      const seen = await getJson(base, p);
      assert.deepEqual(attributesOf(seen.body), ALL_ON);
    }
  });
  test('bad bodies are 400 in the error envelope and change nothing', async () => {
    const bodies = ['{"writeEnabled":false,"quarantineState":"x"}', '{"writeEnabled":"false"}', '{"writeEnabled":0}', 'not json', '[]', 'null', '{"writeEnabled":null}'];
    for (const p of targets()) {
      for (const b of bodies) {
        const res = await patch(base, p, b);
        assert.equal(res.status, 400, `${p} ${b}`);
        assert.equal(await errorCode(res), 'UNSUPPORTED');
      }
      assert.deepEqual(attributesOf((await getJson(base, p)).body), ALL_ON, p);
    }
  });
  test('PATCH of something that does not exist is 404', async () => {
    for (const [p, code] of [
      [`/acr/v1/acr/none`, 'NAME_UNKNOWN'],
      [`/acr/v1/${REPO}/_tags/none`, 'MANIFEST_UNKNOWN'],
      [`/acr/v1/${REPO}/_manifests/${fx.amd.config.digest}`, 'MANIFEST_UNKNOWN'],
    ]) {
      const res = await patch(base, p!, { writeEnabled: false });
      assert.equal(res.status, 404, p);
      assert.equal(await errorCode(res), code);
    }
  });
});

describe('DELETE', () => {
  test('a tag: 202, the tag is gone, the manifest stays', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'acr/del', img, 'v1');
    const res = await req(base, '/acr/v1/acr/del/_tags/v1', { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.equal((await req(base, '/acr/v1/acr/del/_tags/v1')).status, 404);
    assert.equal((await req(base, `/acr/v1/acr/del/_manifests/${img.manifest.digest}`)).status, 200);
    const again = await req(base, '/acr/v1/acr/del/_tags/v1', { method: 'DELETE' });
    assert.equal(again.status, 404);
  });
  test('a repository: 202 with what was deleted; gone from both catalogs', async () => {
    const a = await makeImage({ os: 'linux', architecture: 'amd64' });
    const b = await makeImage({ os: 'linux', architecture: 'arm64' });
    await pushImage(base, 'acr/gone', a, 'a1');
    await pushImage(base, 'acr/gone', b, 'b1');
    const res = await req(base, '/acr/v1/acr/gone', { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { manifestsDeleted: [a.manifest.digest, b.manifest.digest].sort(), tagsDeleted: ['a1', 'b1'] });
    assert.equal((await req(base, '/acr/v1/acr/gone')).status, 404);
    assert.equal((await req(base, '/v2/acr/gone/manifests/a1')).status, 404);
    assert.equal((await req(base, `/v2/acr/gone/blobs/${a.layers[0]!.digest}`)).status, 404);
    for (const p of ['/v2/_catalog', '/acr/v1/_catalog']) {
      assert.ok(!((await getJson<{ repositories: string[] }>(base, p)).body.repositories.includes('acr/gone')), p);
    }
  });
});
