import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { blob } from '../helpers/images.js';
import { req } from '../helpers/http.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'manifold.js');

/** Runs the real binary; resolves with its URL once it prints where it listens. */
async function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--data', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return { child, url };
}

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'manifold-kill-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

test('SIGKILL mid-upload: no blob becomes visible, and the session resumes from what reached the disk', async () => {
  const b = blob(randomBytes(8 * 1024 * 1024));
  const first = await serve(dataDir);
  const post = await req(first.url, '/v2/kill/a/blobs/uploads/', { method: 'POST' });
  const loc = post.headers.get('location')!;

  // A monolithic upload and a session PATCH, both cut off by the process dying under them.
  const url = new URL(first.url);
  const send = (method: string, path: string) =>
    new Promise<void>((resolve) => {
      const r = request({ host: url.hostname, port: url.port, method, path, headers: { 'Content-Length': String(b.size) } });
      r.on('error', () => resolve());
      r.on('response', () => resolve());
      r.write(b.bytes.subarray(0, 5 * 1024 * 1024));
    });
  const inflight = [send('PATCH', loc), send('POST', `/v2/kill/a/blobs/uploads/?digest=${b.digest}`)];
  await new Promise((r) => setTimeout(r, 500));
  first.child.kill('SIGKILL');
  await Promise.all(inflight);

  const second = await serve(dataDir);
  try {
    assert.equal((await req(second.url, `/v2/kill/a/blobs/${b.digest}`, { method: 'HEAD' })).status, 404);
    assert.deepEqual(await readdir(join(dataDir, 'blobs')), [], 'no blob file at all');

    const status = await req(second.url, loc);
    assert.equal(status.status, 204);
    const end = Number(/^0-(\d+)$/.exec(status.headers.get('range')!)![1]);
    const staged = end === 0 ? 0 : end + 1;
    assert.ok(staged <= 5 * 1024 * 1024, `staged ${staged}`);
    const rest = await req(second.url, loc, {
      method: 'PATCH',
      body: b.bytes.subarray(staged),
      headers: { 'Content-Range': `${staged}-${b.size - 1}` },
    });
    assert.equal(rest.status, 202);
    const put = await req(second.url, `${loc}?digest=${b.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
    const got = Buffer.from(await (await req(second.url, `/v2/kill/a/blobs/${b.digest}`)).arrayBuffer());
    assert.ok(got.equals(b.bytes));
  } finally {
    second.child.kill('SIGTERM');
  }
});
