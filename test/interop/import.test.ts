import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addUser, basic } from '../helpers/auth.js';
import { Cli } from '../helpers/cli.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { FaultyProxy } from '../helpers/faulty-proxy.js';
import { req } from '../helpers/http.js';
import { blob, descriptor, makeImage, makeIndex, sha256, writeOciLayout, type Blob, type TestImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES, OCI_LAYER_GZIP, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skopeo } from '../helpers/tools.js';

interface Job {
  id: string;
  phase: string;
  bytesDone: number;
  bytesTotal: number;
  blobs: { digest: string; state: string }[];
  digest?: string;
  sparse: boolean;
  error?: string;
}

/**
 * `manifold import`: the registry copies multi-arch images from a real CNCF Distribution (open and
 * with htpasswd) and from another Manifold with token auth, server-side.
 */
describe('manifold import', () => {
  let dist: Distribution;
  let locked: Distribution;
  let srv: TestServer;
  let cli: Cli;
  let images: TestImage[];
  let index: Blob;

  const manifest = async (repo: string, ref: string, server: { url: string } = srv, auth?: string) => {
    const res = await req(server.url, `/v2/${repo}/manifests/${ref}`, { headers: { Accept: ALL_MANIFEST_TYPES, ...(auth ? { Authorization: auth } : {}) } });
    return { status: res.status, digest: res.headers.get('docker-content-digest'), bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const job = async (id: string) => (await (await req(srv.url, `/manifold/v1/imports/${id}`)).json()) as Job;
  const until = async (id: string) => {
    for (;;) {
      const j = await job(id);
      if (j.phase === 'succeeded' || j.phase === 'failed') return j;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    cli = await Cli.create();
    dist = await startDistribution();
    locked = await startDistribution({ htpasswd: { alice: 's3cret' } });
    srv = await startTestServer();
    images = [
      await makeImage({ os: 'linux', architecture: 'amd64' }),
      await makeImage({ os: 'linux', architecture: 'arm64', variant: 'v8' }),
      await makeImage({ os: 'linux', architecture: 'arm', variant: 'v7' }),
    ];
    index = makeIndex(images);
    const layout = join(cli.home, 'layout');
    await writeOciLayout(layout, images, index, 'v1');
    // the source registries hold the index as skopeo pushes it
    await skopeo(['copy', '--all', `oci:${layout}:v1`, `docker://${dist.host}/library/app:1.0`]);
    await skopeo(['copy', '--all', '--dest-creds', 'alice:s3cret', `oci:${layout}:v1`, `docker://${locked.host}/private/app:1.0`]);
  });
  after(async () => {
    await srv.stop();
    await dist.stop();
    await locked.stop();
    await cli.dispose();
  });

  test('the whole index, byte-identical with the same digests, into two repositories', async () => {
    const r = await cli.ok(['import', '--source', `${dist.host}/library/app:1.0`, '--image', 'app:1.0', '--image', 'mirror/app:stable', '--registry', srv.host]);
    assert.equal(r.stdout.trim(), index.digest);
    assert.match(r.stderr, /imported 127\.0\.0\.1:\d+\/library\/app:1\.0 → app:1\.0, mirror\/app:stable \(linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7\): 6 blob\(s\) copied/);
    for (const [repo, tag] of [['app', '1.0'], ['mirror/app', 'stable']]) {
      const got = await manifest(repo!, tag!);
      assert.equal(got.digest, index.digest);
      assert.ok(got.bytes.equals(index.bytes));
      for (const img of images) {
        assert.equal((await manifest(repo!, img.manifest.digest)).digest, img.manifest.digest);
        for (const b of [img.config, ...img.layers]) {
          const res = await req(srv.url, `/v2/${repo}/blobs/${b.digest}`);
          assert.equal(sha256(Buffer.from(await res.arrayBuffer())), b.digest);
        }
      }
    }
    const raw = await skopeo(['inspect', '--raw', `docker://${srv.host}/app:1.0`]);
    assert.equal(sha256(raw), index.digest);
  });

  test('blobs the registry has are linked, not transferred; a taken tag fails before anything is copied unless --force', async () => {
    const again = await cli.ok(['import', '--source', `${dist.host}/library/app:1.0`, '--image', 'copy/app:1.0', '--registry', srv.host]);
    assert.match(again.stderr, /0 blob\(s\) copied \(0 B\), 6 linked/);
    const err = await cli.fails(['import', '--source', `${dist.host}/library/app:1.0`, '--image', 'app:1.0', '--registry', srv.host]);
    assert.match(err, /409 DENIED: app:1\.0 already exists; import with --force/);
    const forced = await cli.ok(['import', '--force', '--source', `${dist.host}/library/app:1.0`, '--image', 'app:1.0', '--registry', srv.host]);
    assert.equal(forced.stdout.trim(), index.digest);
  });

  test('--platform imports a reduced index with its own digest, and says so', async () => {
    const r = await cli.ok(['import', '--source', `${dist.host}/library/app:1.0`, '--image', 'sparse:1.0', '--platform', 'linux/arm64', '--platform', 'linux/amd64', '--registry', srv.host]);
    assert.match(r.stderr, /only linux\/amd64, linux\/arm64\/v8 imported, under a reduced index whose digest differs/);
    const got = await manifest('sparse', '1.0');
    assert.notEqual(got.digest, index.digest);
    assert.equal(got.digest, r.stdout.trim());
    const children = (JSON.parse(got.bytes.toString()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
    assert.deepEqual(children, [images[0]!.manifest.digest, images[1]!.manifest.digest]);
    assert.equal((await manifest('sparse', images[2]!.manifest.digest)).status, 404);
    assert.match(await cli.fails(['import', '--source', `${dist.host}/library/app:1.0`, '--image', 'sparse:2', '--platform', 'linux/s390x', '--registry', srv.host]), /no image for linux\/s390x/);
  });

  test('--repository imports untagged; --no-wait returns a job whose status can be polled', async () => {
    const r = await cli.ok(['import', '--no-wait', '--source', `${dist.host}/library/app@${index.digest}`, '--repository', 'bydigest', '--registry', srv.host]);
    const done = await until(r.stdout.trim());
    assert.equal(done.phase, 'succeeded');
    assert.equal(done.digest, index.digest);
    assert.equal(done.bytesDone, done.bytesTotal);
    assert.ok(done.bytesTotal > 0);
    assert.equal(done.blobs.length, 6);
    assert.equal((await manifest('bydigest', index.digest)).status, 200);
    const tags = (await (await req(srv.url, '/v2/bydigest/tags/list')).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, []);
    assert.equal((await req(srv.url, '/manifold/v1/imports/nope')).status, 404);
  });

  test('source credentials: refused without, given on the command line, or from the stored login', async () => {
    assert.match(await cli.fails(['import', '--source', `${locked.host}/private/app:1.0`, '--image', 'private:1.0', '--registry', srv.host]), /requires a login/);
    assert.match(await cli.fails(['import', '--source', `${locked.host}/private/app:1.0`, '--image', 'private:1.0', '-u', 'alice', '--password', 'nope', '--registry', srv.host]), /credentials refused/);
    const r = await cli.ok(['import', '--source', `${locked.host}/private/app:1.0`, '--image', 'private:1.0', '-u', 'alice', '--password-stdin', '--registry', srv.host], { input: 's3cret\n' });
    assert.equal(r.stdout.trim(), index.digest);
    await cli.ok(['login', locked.host, '-u', 'alice', '--password-stdin'], { input: 's3cret' });
    const stored = await cli.ok(['import', '--source', `${locked.host}/private/app:1.0`, '--image', 'private:again', '--registry', srv.host]);
    assert.equal(stored.stdout.trim(), index.digest);
  });

  test('clear failures, and no tag left behind: unreachable, unknown tag, rate limited, corrupt blob, source dying mid-import', async () => {
    const closed = await startTestServer();
    await closed.stop();
    assert.match(await cli.fails(['import', '--source', `${closed.host}/x:1`, '--image', 'x:1', '--registry', srv.host]), /cannot reach 127\.0\.0\.1:\d+ .*ECONNREFUSED/);
    assert.match(await cli.fails(['import', '--source', `${dist.host}/library/app:nope`, '--image', 'x:1', '--registry', srv.host]), /404 MANIFEST_UNKNOWN/);

    const proxy = await FaultyProxy.start(dist.url);
    try {
      // one 429 with Retry-After is waited out; the import then succeeds
      proxy.faults = [{ match: (m, p) => m === 'GET' && p.includes('/manifests/1.0'), action: 429 }];
      await cli.ok(['import', '--source', `${proxy.host}/library/app:1.0`, '--image', 'limited:1.0', '--registry', srv.host]);
      assert.equal(proxy.seen.filter((s) => s.path.endsWith('/manifests/1.0')).map((s) => s.status).join(','), '429,200');
      // a source that keeps answering 429 fails the import, saying so
      proxy.faults = Array.from({ length: 8 }, () => ({ match: (m: string, p: string) => m === 'GET' && p.endsWith('/manifests/1.0'), action: 429 as const }));
      assert.match(await cli.fails(['import', '--source', `${proxy.host}/library/app:1.0`, '--image', 'limited:2', '--registry', srv.host]), /429 TOOMANYREQUESTS/);
      proxy.faults = [];

      // a blob whose bytes do not match its digest aborts the import
      const fresh = await makeImage({ os: 'linux', architecture: 'riscv64' });
      const freshLayout = join(cli.home, 'fresh');
      await writeOciLayout(freshLayout, [fresh], undefined, 'v1');
      await skopeo(['copy', `oci:${freshLayout}:v1`, `docker://${dist.host}/fresh/app:1.0`]);
      proxy.faults = [{ match: (m, p) => m === 'GET' && p.includes(`/blobs/${fresh.layers[0]!.digest}`), action: 'corrupt' }];
      assert.match(await cli.fails(['import', '--source', `${proxy.host}/fresh/app:1.0`, '--image', 'corrupt:1.0', '--registry', srv.host]), /does not match its digest: import aborted/);
      assert.equal((await manifest('corrupt', '1.0')).status, 404);
      assert.equal((await req(srv.url, `/v2/corrupt/blobs/${fresh.layers[0]!.digest}`, { method: 'HEAD' })).status, 404);

      // the source dies while a big layer is on its way
      const dying = await startDistribution();
      const big = blob(randomBytes(8 * 1024 * 1024), OCI_LAYER_GZIP);
      const bigManifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(fresh.config), layers: [descriptor(big)] }), OCI_MANIFEST);
      const bigLayout = join(cli.home, 'big');
      await writeOciLayout(bigLayout, [{ ...fresh, layers: [big], manifest: bigManifest }], undefined, 'v1');
      await skopeo(['copy', `oci:${bigLayout}:v1`, `docker://${dying.host}/big/app:1.0`]);
      const toDying = await FaultyProxy.start(dying.url);
      // the layer is the one blob that is not the (shared) config
      toDying.faults = [{ match: (m, p) => m === 'GET' && p.includes('/blobs/') && !p.includes(fresh.config.digest), action: 'cut-response', then: () => dying.crash() }];
      const err = await cli.fails(['import', '--source', `${toDying.host}/big/app:1.0`, '--image', 'dead:1.0', '--registry', srv.host]);
      assert.match(err, /import of .* failed/);
      assert.equal((await manifest('dead', '1.0')).status, 404, 'no partial tag');
      await toDying.stop();
      await dying.stop();
    } finally {
      await proxy.stop();
    }
  });

  test('Manifold to Manifold with token auth; importing needs write on the target', async () => {
    const source = await startTestServer();
    const target = await startTestServer();
    try {
      const layout = join(cli.home, 'layout');
      await cli.ok(['push', `oci:${layout}:v1`, `${source.host}/team/app:1.0`]);
      await addUser(source, 'carol', 'carol-password');
      await addUser(target, 'dave', 'dave-password');
      target.services.access.store.createToken({ name: 'reader', secretHash: 'x'.repeat(64), scopes: { '*': ['content/read'] }, createdAt: Date.now(), disabled: false });
      const r = await cli.ok(['import', '--source', `${source.host}/team/app:1.0`, '--image', 'app:1.0', '-u', 'carol', '--password-stdin', '--registry', target.host, '--creds', 'dave:dave-password'], { input: 'carol-password' });
      assert.equal(r.stdout.trim(), index.digest);
      assert.equal((await manifest('app', '1.0', target, basic('dave', 'dave-password'))).digest, index.digest);
      const denied = await req(target.url, '/manifold/v1/imports', { method: 'POST', body: JSON.stringify({ source: `${source.host}/team/app:1.0`, images: ['x:1'] }) });
      assert.equal(denied.status, 401);
    } finally {
      await source.stop();
      await target.stop();
    }
  });
});
