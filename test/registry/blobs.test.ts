import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { blob } from '../helpers/images.js';
import { errorCode, pushBlob, req } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let base: string;
before(async () => {
  srv = await startTestServer();
  base = srv.url;
});
after(() => srv.stop());

async function startSession(repo: string): Promise<string> {
  const res = await req(base, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('range'), '0-0');
  assert.ok(res.headers.get('docker-upload-uuid'));
  const loc = res.headers.get('location')!;
  assert.match(loc, new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]{36}$`));
  return loc;
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

describe('base', () => {
  test('GET /v2/ answers 200 with the API version header', async () => {
    const res = await req(base, '/v2/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await res.json(), {});
    assert.equal((await req(base, '/v2')).status, 200);
  });
  test('unknown routes and methods are JSON errors', async () => {
    const res = await req(base, '/v2/a/nothing/here');
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'UNSUPPORTED');
    const m = await req(base, '/v2/a/blobs/sha256:' + 'a'.repeat(64), { method: 'POST' });
    assert.equal(m.status, 405);
    assert.equal(await errorCode(m), 'UNSUPPORTED');
  });
});

describe('monolithic upload', () => {
  test('POST ?digest= stores the blob; GET and HEAD serve it', async () => {
    const b = blob(randomBytes(5000));
    const res = await pushBlob(base, 'mono/a', b);
    assert.equal(res.headers.get('location'), `/v2/mono/a/blobs/${b.digest}`);
    assert.equal(res.headers.get('docker-content-digest'), b.digest);
    const get = await req(base, `/v2/mono/a/blobs/${b.digest}`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('docker-content-digest'), b.digest);
    assert.equal(get.headers.get('content-length'), '5000');
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), b.bytes);
    const head = await req(base, `/v2/mono/a/blobs/${b.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '5000');
    assert.equal(await head.text(), '');
  });
  test('digest mismatch → 400 DIGEST_INVALID, nothing stored', async () => {
    const b = blob('real bytes');
    const wrong = blob('other bytes').digest;
    const res = await req(base, `/v2/mono/a/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: b.bytes });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    assert.equal((await req(base, `/v2/mono/a/blobs/${wrong}`, { method: 'HEAD' })).status, 404);
    assert.equal((await req(base, `/v2/mono/a/blobs/${b.digest}`, { method: 'HEAD' })).status, 404);
  });
  test('malformed and unsupported digests → DIGEST_INVALID', async () => {
    for (const d of ['sha256:xyz', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nonsense']) {
      const res = await req(base, `/v2/mono/a/blobs/uploads/?digest=${d}`, { method: 'POST', body: 'x' });
      assert.equal(res.status, 400, d);
      assert.equal(await errorCode(res), 'DIGEST_INVALID');
    }
  });
  test('sha512 digests are verified too', async () => {
    const bytes = Buffer.from('sha512 content');
    const d = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    const res = await req(base, `/v2/mono/a/blobs/uploads/?digest=${d}`, { method: 'POST', body: bytes });
    assert.equal(res.status, 201);
    assert.deepEqual(Buffer.from(await (await req(base, `/v2/mono/a/blobs/${d}`)).arrayBuffer()), bytes);
  });
  test('the empty blob', async () => {
    const b = blob(Buffer.alloc(0));
    await pushBlob(base, 'mono/a', b);
    const get = await req(base, `/v2/mono/a/blobs/${b.digest}`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-length'), '0');
  });
});

describe('POST + PUT and chunked uploads', () => {
  test('POST then PUT with the whole body', async () => {
    const b = blob(randomBytes(3000));
    const loc = await startSession('chunk/a');
    const put = await req(base, withDigest(loc, b.digest), { method: 'PUT', body: b.bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), b.digest);
    assert.equal((await req(base, loc)).status, 404, 'session is gone after completion');
  });
  test('POST, PATCH chunks with Content-Range, status, PUT with empty body', async () => {
    const b = blob(randomBytes(10_000));
    let loc = await startSession('chunk/a');
    const chunks = [b.bytes.subarray(0, 4000), b.bytes.subarray(4000, 9000), b.bytes.subarray(9000)];
    let offset = 0;
    for (const c of chunks) {
      const res = await req(base, loc, {
        method: 'PATCH',
        body: c,
        headers: { 'Content-Range': `${offset}-${offset + c.length - 1}`, 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(res.status, 202);
      offset += c.length;
      assert.equal(res.headers.get('range'), `0-${offset - 1}`);
      loc = res.headers.get('location')!;
      const status = await req(base, loc);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${offset - 1}`);
      assert.equal(status.headers.get('location'), loc);
    }
    const put = await req(base, withDigest(loc, b.digest), { method: 'PUT' });
    assert.equal(put.status, 201);
    assert.deepEqual(Buffer.from(await (await req(base, `/v2/chunk/a/blobs/${b.digest}`)).arrayBuffer()), b.bytes);
  });
  test('streamed PATCH without Content-Range (docker style), final chunk in the PUT', async () => {
    const b = blob(randomBytes(6000));
    const loc = await startSession('chunk/a');
    const p = await req(base, loc, { method: 'PATCH', body: b.bytes.subarray(0, 2000) });
    assert.equal(p.status, 202);
    assert.equal(p.headers.get('range'), '0-1999');
    const put = await req(base, withDigest(loc, b.digest), {
      method: 'PUT',
      body: b.bytes.subarray(2000),
      headers: { 'Content-Range': '2000-5999' },
    });
    assert.equal(put.status, 201);
  });
  test('out-of-order and repeated chunks → 416 with the current Range; the session survives', async () => {
    const b = blob(randomBytes(4000));
    const loc = await startSession('chunk/a');
    const first = await req(base, loc, { method: 'PATCH', body: b.bytes.subarray(0, 1000), headers: { 'Content-Range': '0-999' } });
    assert.equal(first.status, 202);
    const skip = await req(base, loc, { method: 'PATCH', body: b.bytes.subarray(2000, 3000), headers: { 'Content-Range': '2000-2999' } });
    assert.equal(skip.status, 416);
    assert.equal(skip.headers.get('range'), '0-999');
    assert.equal(await errorCode(skip), 'BLOB_UPLOAD_INVALID');
    const repeat = await req(base, loc, { method: 'PATCH', body: b.bytes.subarray(0, 1000), headers: { 'Content-Range': '0-999' } });
    assert.equal(repeat.status, 416);
    const lengthMismatch = await req(base, loc, { method: 'PATCH', body: b.bytes.subarray(1000, 1500), headers: { 'Content-Range': '1000-1999' } });
    assert.equal(lengthMismatch.status, 416);
    const rest = await req(base, loc, { method: 'PATCH', body: b.bytes.subarray(1000), headers: { 'Content-Range': '1000-3999' } });
    assert.equal(rest.status, 202);
    assert.equal((await req(base, withDigest(loc, b.digest), { method: 'PUT' })).status, 201);
  });
  test('PUT with a wrong digest → DIGEST_INVALID and no blob', async () => {
    const loc = await startSession('chunk/a');
    await req(base, loc, { method: 'PATCH', body: 'abc' });
    const wrong = blob('abd').digest;
    const put = await req(base, withDigest(loc, wrong), { method: 'PUT' });
    assert.equal(put.status, 400);
    assert.equal(await errorCode(put), 'DIGEST_INVALID');
    assert.equal((await req(base, `/v2/chunk/a/blobs/${wrong}`, { method: 'HEAD' })).status, 404);
  });
  test('PUT without digest → DIGEST_INVALID', async () => {
    const loc = await startSession('chunk/a');
    const put = await req(base, loc, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 400);
    assert.equal(await errorCode(put), 'DIGEST_INVALID');
  });
  test('cancel with DELETE; unknown sessions are BLOB_UPLOAD_UNKNOWN', async () => {
    const loc = await startSession('chunk/a');
    assert.equal((await req(base, loc, { method: 'DELETE' })).status, 204);
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
      const res = await req(base, loc, { method, body: method === 'GET' ? undefined : '' });
      assert.equal(res.status, 404, method);
      assert.equal(await errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
    }
    const bogus = await req(base, '/v2/chunk/a/blobs/uploads/not-a-uuid');
    assert.equal(bogus.status, 404);
    assert.equal(await errorCode(bogus), 'BLOB_UPLOAD_UNKNOWN');
  });
  test("a session belongs to its repository", async () => {
    const loc = await startSession('chunk/a');
    const other = loc.replace('/v2/chunk/a/', '/v2/chunk/b/');
    const res = await req(base, other, { method: 'PATCH', body: 'x' });
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
  });
  test('concurrent uploads of the same blob both succeed', async () => {
    const b = blob(randomBytes(200_000));
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => req(base, `/v2/conc/r${i % 2}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes })),
    );
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201, 201, 201]);
    for (const r of ['conc/r0', 'conc/r1']) {
      assert.deepEqual(Buffer.from(await (await req(base, `/v2/${r}/blobs/${b.digest}`)).arrayBuffer()), b.bytes);
    }
  });
});

describe('ranges', () => {
  const b = blob(Buffer.from('0123456789abcdefghij'));
  before(() => pushBlob(base, 'range/a', b));
  const cases: [string, number, string, string | undefined][] = [
    ['bytes=0-4', 206, '01234', 'bytes 0-4/20'],
    ['bytes=15-', 206, 'fghij', 'bytes 15-19/20'],
    ['bytes=-3', 206, 'hij', 'bytes 17-19/20'],
    ['bytes=18-100', 206, 'ij', 'bytes 18-19/20'],
  ];
  for (const [range, status, body, contentRange] of cases) {
    test(range, async () => {
      const res = await req(base, `/v2/range/a/blobs/${b.digest}`, { headers: { Range: range } });
      assert.equal(res.status, status);
      assert.equal(res.headers.get('content-range'), contentRange);
      assert.equal(await res.text(), body);
    });
  }
  for (const range of ['bytes=20-', 'bytes=100-200', 'bytes=-0']) {
    test(`${range} is unsatisfiable → 416 with Content-Range: bytes */size`, async () => {
      const res = await req(base, `/v2/range/a/blobs/${b.digest}`, { headers: { Range: range } });
      assert.equal(res.status, 416);
      assert.equal(res.headers.get('content-range'), 'bytes */20');
    });
  }
  // RFC 9110 §14.2: a range the server cannot use (other unit, bad syntax, several ranges) is ignored.
  for (const range of ['bytes=5-2', 'bytes=x-y', 'items=0-1', 'bytes=0-1,3-4', 'bytes=-']) {
    test(`${range} is ignored → 200 with the whole blob`, async () => {
      const res = await req(base, `/v2/range/a/blobs/${b.digest}`, { headers: { Range: range } });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '0123456789abcdefghij');
    });
  }
  test('unit names are case-insensitive', async () => {
    const res = await req(base, `/v2/range/a/blobs/${b.digest}`, { headers: { Range: 'Bytes=0-1' } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), '01');
  });
});

describe('mount', () => {
  test('mount from a repository that has the blob → 201', async () => {
    const b = blob(randomBytes(1000));
    await pushBlob(base, 'mount/src', b);
    const res = await req(base, `/v2/mount/dst/blobs/uploads/?mount=${b.digest}&from=mount/src`, { method: 'POST' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mount/dst/blobs/${b.digest}`);
    assert.equal(res.headers.get('docker-content-digest'), b.digest);
    assert.equal((await req(base, `/v2/mount/dst/blobs/${b.digest}`, { method: 'HEAD' })).status, 200);
  });
  test('mount from a repository without the blob → 202 and a normal upload session', async () => {
    const b = blob(randomBytes(1000));
    await pushBlob(base, 'mount/elsewhere', b);
    const res = await req(base, `/v2/mount/dst2/blobs/uploads/?mount=${b.digest}&from=mount/empty`, { method: 'POST' });
    assert.equal(res.status, 202);
    const loc = res.headers.get('location')!;
    assert.match(loc, /\/v2\/mount\/dst2\/blobs\/uploads\//);
    assert.equal((await req(base, withDigest(loc, b.digest), { method: 'PUT', body: b.bytes })).status, 201);
  });
  test('mount with an invalid from or digest falls back to an upload', async () => {
    const res = await req(base, `/v2/mount/dst3/blobs/uploads/?mount=sha256:zz&from=../x`, { method: 'POST' });
    assert.equal(res.status, 202);
  });
  test('mount without from mounts a blob the registry already holds', async () => {
    const b = blob(randomBytes(1000));
    await pushBlob(base, 'mount/auto-src', b);
    const res = await req(base, `/v2/mount/auto-dst/blobs/uploads/?mount=${b.digest}`, { method: 'POST' });
    assert.equal(res.status, 201);
  });
});

describe('delete', () => {
  test('DELETE unlinks the blob from that repository only', async () => {
    const b = blob(randomBytes(100));
    await pushBlob(base, 'del/a', b);
    await pushBlob(base, 'del/b', b);
    const res = await req(base, `/v2/del/a/blobs/${b.digest}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.equal((await req(base, `/v2/del/a/blobs/${b.digest}`, { method: 'HEAD' })).status, 404);
    assert.equal((await req(base, `/v2/del/b/blobs/${b.digest}`, { method: 'HEAD' })).status, 200);
    const again = await req(base, `/v2/del/a/blobs/${b.digest}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'BLOB_UNKNOWN');
  });
  test('unknown blob → 404 BLOB_UNKNOWN, HEAD has no body', async () => {
    const d = blob('never pushed').digest;
    const res = await req(base, `/v2/del/a/blobs/${d}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
    const head = await req(base, `/v2/del/a/blobs/${d}`, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.equal(await head.text(), '');
  });
});

describe('OCI-Chunk-Min-Length', () => {
  test('not sent by default; advertised on POST when configured', async () => {
    const plain = await req(base, '/v2/chunkmin/a/blobs/uploads/', { method: 'POST' });
    assert.equal(plain.headers.get('oci-chunk-min-length'), null);
    const configured = await startTestServer({ chunkMinLength: 5 * 1024 * 1024 });
    try {
      const res = await req(configured.url, '/v2/chunkmin/a/blobs/uploads/', { method: 'POST' });
      assert.equal(res.status, 202);
      assert.equal(res.headers.get('oci-chunk-min-length'), String(5 * 1024 * 1024));
    } finally {
      await configured.stop();
    }
  });
});
