import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { runJanitor } from '../../src/registry/janitor.js';
import { blob } from '../helpers/images.js';
import { pushBlob, req } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(() => srv.stop());

/** Sends headers promising `declared` bytes, writes `sent` of them, then drops the connection. */
async function abortMidBody(method: string, path: string, declared: number, sent: Buffer, headers: Record<string, string> = {}): Promise<void> {
  const url = new URL(srv.url);
  await new Promise<void>((resolve) => {
    const r = request({ host: url.hostname, port: url.port, method, path, headers: { 'Content-Length': String(declared), ...headers } });
    r.on('error', () => resolve());
    r.write(sent, () => setTimeout(() => {
      r.destroy();
      resolve();
    }, 100));
  });
  // Give the server a moment to notice and clean up.
  await new Promise((r) => setTimeout(r, 200));
}

async function stagingFiles(): Promise<string[]> {
  return readdir(join(srv.dataDir, 'uploads'));
}

describe('crash and disconnect safety', () => {
  test('a monolithic upload cut off mid-body leaves no blob and no staging file', async () => {
    const b = blob(randomBytes(1_000_000));
    const before = await stagingFiles();
    await abortMidBody('POST', `/v2/crash/a/blobs/uploads/?digest=${b.digest}`, b.size, b.bytes.subarray(0, 300_000));
    assert.equal((await req(srv.url, `/v2/crash/a/blobs/${b.digest}`, { method: 'HEAD' })).status, 404);
    assert.deepEqual(await stagingFiles(), before);
  });
  test('a PATCH cut off mid-body rolls the session back to its last good offset', async () => {
    const b = blob(randomBytes(500_000));
    const post = await req(srv.url, '/v2/crash/b/blobs/uploads/', { method: 'POST' });
    const loc = post.headers.get('location')!;
    await req(srv.url, loc, { method: 'PATCH', body: b.bytes.subarray(0, 100_000), headers: { 'Content-Range': '0-99999' } });
    await abortMidBody('PATCH', loc, 200_000, b.bytes.subarray(100_000, 150_000), { 'Content-Range': '100000-299999' });
    const status = await req(srv.url, loc);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-99999');
    const rest = await req(srv.url, loc, { method: 'PATCH', body: b.bytes.subarray(100_000), headers: { 'Content-Range': `100000-${b.size - 1}` } });
    assert.equal(rest.status, 202);
    const put = await req(srv.url, `${loc}?digest=${b.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
    assert.deepEqual(Buffer.from(await (await req(srv.url, `/v2/crash/b/blobs/${b.digest}`)).arrayBuffer()), b.bytes);
  });
  test('an upload session survives a registry restart', async () => {
    const b = blob(randomBytes(300_000));
    const first = await startTestServer({ dataDir: join(srv.dataDir, 'restart') });
    const post = await req(first.url, '/v2/restart/a/blobs/uploads/', { method: 'POST' });
    const loc = post.headers.get('location')!;
    await req(first.url, loc, { method: 'PATCH', body: b.bytes.subarray(0, 120_000) });
    await first.close();
    const second = await startTestServer({ dataDir: join(srv.dataDir, 'restart') });
    try {
      const status = await req(second.url, loc);
      assert.equal(status.headers.get('range'), '0-119999');
      await req(second.url, loc, { method: 'PATCH', body: b.bytes.subarray(120_000) });
      const put = await req(second.url, `${loc}?digest=${b.digest}`, { method: 'PUT' });
      assert.equal(put.status, 201);
    } finally {
      await second.close();
    }
  });
  test('the registry answers a TLS handshake with 400 and stays up', async () => {
    const url = new URL(srv.url);
    const err = await new Promise<Error>((resolve) => {
      const s = tlsConnect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false });
      s.on('error', resolve);
      s.on('secureConnect', () => resolve(new Error('unexpected TLS success')));
    });
    assert.match(err.message, /wrong version number|packet length too long|EPROTO|ECONNRESET|socket disconnected/i);
    const raw = await new Promise<string>((resolve) => {
      const s = connect(Number(url.port), url.hostname, () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.equal((await req(srv.url, '/v2/')).status, 200);
  });
});

describe('janitor', () => {
  test('purges abandoned sessions with their staging files, keeps fresh ones', async () => {
    const old = await req(srv.url, '/v2/jan/a/blobs/uploads/', { method: 'POST' });
    const oldLoc = old.headers.get('location')!;
    await req(srv.url, oldLoc, { method: 'PATCH', body: 'abandoned' });
    const report = await runJanitor(srv.services, Date.now() + srv.services.config.uploadMaxAgeMs + 1000);
    assert.ok(report.uploadsPurged >= 1);
    assert.equal((await req(srv.url, oldLoc)).status, 404);
    assert.ok(!(await stagingFiles()).includes(oldLoc.split('/').pop()!));

    const fresh = await req(srv.url, '/v2/jan/a/blobs/uploads/', { method: 'POST' });
    await runJanitor(srv.services);
    assert.equal((await req(srv.url, fresh.headers.get('location')!)).status, 204);
  });
  test('every chunk renews a session, so an upload in progress is never purged as idle', async () => {
    const post = await req(srv.url, '/v2/jan/c/blobs/uploads/', { method: 'POST' });
    const loc = post.headers.get('location')!;
    const id = loc.split('/').pop()!;
    const created = srv.services.meta.getUpload(id)!.updatedAt;
    await new Promise((r) => setTimeout(r, 20));
    await req(srv.url, loc, { method: 'PATCH', body: 'more bytes' });
    const touched = srv.services.meta.getUpload(id)!.updatedAt;
    assert.ok(touched > created, `updatedAt ${touched} after ${created}`);
    await runJanitor(srv.services, created + srv.services.config.uploadMaxAgeMs + 5);
    assert.equal((await req(srv.url, loc)).status, 204);
  });
  test('removes blob files nothing refers to, after the grace period only', async () => {
    const kept = blob(randomBytes(100));
    const dropped = blob(randomBytes(100));
    await pushBlob(srv.url, 'jan/b', kept);
    await pushBlob(srv.url, 'jan/b', dropped);
    await req(srv.url, `/v2/jan/b/blobs/${dropped.digest}`, { method: 'DELETE' });
    await runJanitor(srv.services);
    assert.notEqual(await srv.services.blobs.stat(dropped.digest), undefined, 'still within the grace period');
    await runJanitor(srv.services, Date.now() + srv.services.config.gcGraceMs + 1000);
    assert.equal(await srv.services.blobs.stat(dropped.digest), undefined);
    assert.equal(await srv.services.blobs.stat(kept.digest), kept.size);
  });
});
