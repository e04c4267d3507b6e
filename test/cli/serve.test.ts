import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/cli/serve.js';
import { DEFAULT_CONFIG } from '../../src/registry/config.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'manifold.js');
const run = promisify(execFile);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'manifold-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('configuration', () => {
  test('defaults', () => {
    assert.deepEqual(resolveConfig({}, {}), DEFAULT_CONFIG);
  });
  test('flag > environment > file > default', async () => {
    const file = join(dir, 'config.yaml');
    await writeFile(file, 'listen: 0.0.0.0:6000\ndata: /from/file\nlog-level: info\nupload-max-age: 60\nfsync: false\n');
    const c = resolveConfig({ config: file, listen: '127.0.0.1:7000' }, { MANIFOLD_DATA: '/from/env', MANIFOLD_UPLOAD_MAX_AGE: '120' });
    assert.equal(c.listen, '127.0.0.1:7000');
    assert.equal(c.dataDir, '/from/env');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.uploadMaxAgeMs, 120_000);
    assert.equal(c.fsync, false);
    assert.equal(c.maxManifestBytes, DEFAULT_CONFIG.maxManifestBytes);
  });
  test('MANIFOLD_CONFIG names the file; unknown keys and bad values are errors', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'lisen: 1.2.3.4:5\n');
    assert.throws(() => resolveConfig({}, { MANIFOLD_CONFIG: file }), /unknown setting "lisen"/);
    assert.throws(() => resolveConfig({ fsync: 'maybe' }, {}), /fsync: expected true or false/);
    assert.throws(() => resolveConfig({}, { MANIFOLD_MAX_MANIFEST_SIZE: '4MB' }), /max-manifest-size: expected a whole number/);
  });
});

describe('manifold serve (the real binary)', () => {
  test('starts, prints where it listens, answers /v2/, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
      });
      const res = await fetch(`${url}/v2/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
  test('a bad setting is one clear line and a non-zero exit', async () => {
    await assert.rejects(run(process.execPath, [BIN, 'serve', '--listen', 'nonsense']), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stderr.trim().split('\n').length, 1);
      assert.match(e.stderr, /^manifold: --listen must be host:port/);
      return true;
    });
  });
  test('--help documents every setting with its environment variable', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'serve', '--help']);
    for (const env of ['MANIFOLD_LISTEN', 'MANIFOLD_DATA', 'MANIFOLD_CONFIG', 'MANIFOLD_UPLOAD_MAX_AGE', 'MANIFOLD_FSYNC']) assert.match(stdout, new RegExp(env));
  });
});

describe('serve on a non-loopback address', () => {
  test('refuses to start with no users or tokens, says why, and starts once auth is configured or waived', async () => {
    const data = join(dir, 'exposed');
    const serve = (...extra: string[]) =>
      // a server that starts runs until the timeout's SIGTERM and then exits cleanly
      run(process.execPath, [BIN, 'serve', '--listen', '0.0.0.0:0', '--data', data, ...extra], { timeout: 3000 }).then(
        (r) => ({ code: /listening on/.test(r.stdout + r.stderr) ? 'running' : 0, stderr: r.stderr }),
        (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }),
      );
    const refused = await serve();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to listen on 0\.0\.0\.0:0 with no users or tokens: anyone who can reach it could push and delete images/);
    assert.match(refused.stderr, /manifold user create NAME --admin/);
    assert.equal((await serve('--allow-anonymous-push', 'true')).code, 'running', 'waived explicitly');
    await run(process.execPath, [BIN, 'user', 'create', 'root', '-p', 'root-password', '--admin', '--data', data]);
    assert.equal((await serve()).code, 'running', 'auth configured');
  });
});
