import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeImage } from '../helpers/images.js';
import { errorCode, pushImage, pushManifest, rawRequest, req } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let base: string;
const TAGS = ['a', 'b', 'c', 'd', 'e', 'v1.0', 'v1.1', 'latest'];
before(async () => {
  srv = await startTestServer({ catalogPageSize: 3 });
  base = srv.url;
  const img = await makeImage({ os: 'linux', architecture: 'amd64' });
  await pushImage(base, 'list/app', img);
  for (const t of TAGS) assert.equal((await pushManifest(base, 'list/app', t, img.manifest)).status, 201);
  for (const r of ['list/r1', 'list/r2', 'list/r3', 'list/r4']) await pushImage(base, r, img);
});
after(() => srv.stop());

/** Follows `Link: <…>; rel="next"` to the end, returning every page's items. */
async function allPages(path: string, key: 'tags' | 'repositories'): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | undefined = path;
  while (next) {
    const res = await req(base, next);
    assert.equal(res.status, 200);
    pages.push(((await res.json()) as Record<string, string[]>)[key]!);
    const link = res.headers.get('link');
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
  }
  return pages;
}

describe('tags list', () => {
  test('all tags, sorted, without n', async () => {
    const res = await req(base, '/v2/list/app/tags/list');
    assert.deepEqual(await res.json(), { name: 'list/app', tags: [...TAGS].sort() });
    assert.equal(res.headers.get('link'), null);
  });
  test('n and last page through with Link', async () => {
    const pages = await allPages('/v2/list/app/tags/list?n=3', 'tags');
    assert.deepEqual(pages, [['a', 'b', 'c'], ['d', 'e', 'latest'], ['v1.0', 'v1.1']]);
  });
  test('exact multiple of n has no dangling Link', async () => {
    const pages = await allPages('/v2/list/app/tags/list?n=4', 'tags');
    assert.deepEqual(pages.map((p) => p.length), [4, 4]);
  });
  test('last alone, n=0, and last past the end', async () => {
    assert.deepEqual(((await (await req(base, '/v2/list/app/tags/list?last=e')).json()) as { tags: string[] }).tags, ['latest', 'v1.0', 'v1.1']);
    assert.deepEqual(((await (await req(base, '/v2/list/app/tags/list?n=0')).json()) as { tags: string[] }).tags, []);
    assert.deepEqual(((await (await req(base, '/v2/list/app/tags/list?last=zzz')).json()) as { tags: string[] }).tags, []);
  });
  test('bad n → 400 with a spec error code', async () => {
    for (const n of ['-1', 'x', '1.5']) {
      const res = await req(base, `/v2/list/app/tags/list?n=${n}`);
      assert.equal(res.status, 400);
      assert.equal(await errorCode(res), 'UNSUPPORTED');
    }
  });
  test('unknown repository → 404 NAME_UNKNOWN', async () => {
    const res = await req(base, '/v2/list/none/tags/list');
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'NAME_UNKNOWN');
  });
});

describe('catalog', () => {
  test('default page size applies and Link pages through everything', async () => {
    const pages = await allPages('/v2/_catalog', 'repositories');
    assert.deepEqual(pages, [['list/app', 'list/r1', 'list/r2'], ['list/r3', 'list/r4']]);
  });
  test('explicit n and last', async () => {
    const res = await req(base, '/v2/_catalog?n=2&last=list/r1');
    assert.deepEqual(await res.json(), { repositories: ['list/r2', 'list/r3'] });
    assert.equal(res.headers.get('link'), '</v2/_catalog?n=2&last=list%2Fr3>; rel="next"');
  });
});

describe('names', () => {
  const bad = ['UPPER/case', 'a..b', 'a/-b', '../../etc', '%2e%2e/%2e%2e/etc', 'a%2F..%2F..%2Fetc', '..', 'a/./b', 'a//b', 'a%00b'];
  for (const name of bad) {
    test(`${name} → NAME_INVALID (sent raw, never touches the filesystem)`, async () => {
      for (const path of [`/v2/${name}/tags/list`, `/v2/${name}/blobs/uploads/`, `/v2/${name}/manifests/latest`]) {
        const res = await rawRequest(base, path.includes('uploads') ? 'POST' : 'GET', path);
        assert.equal(res.status, 400, path);
        assert.equal(JSON.parse(res.body).errors[0].code, 'NAME_INVALID');
      }
    });
  }
  test('path traversal through digests and upload ids is refused', async () => {
    const res = await req(base, '/v2/list/app/blobs/sha256:..%2F..%2F..%2Fetc%2Fpasswd');
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    const up = await req(base, '/v2/list/app/blobs/uploads/..%2F..%2Fmetadata.db');
    assert.equal(up.status, 404);
    assert.equal(await errorCode(up), 'BLOB_UPLOAD_UNKNOWN');
  });
  test('a 256-character name is too long', async () => {
    const res = await req(base, `/v2/${'a'.repeat(256)}/tags/list`);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'NAME_INVALID');
  });
  test('names containing route words still route', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(base, 'x/blobs/uploads/manifests', img, 'v1');
    const res = await req(base, '/v2/x/blobs/uploads/manifests/manifests/v1');
    assert.equal(res.status, 200);
  });
});
