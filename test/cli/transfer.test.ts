import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Cli } from '../helpers/cli.js';
import { req } from '../helpers/http.js';
import { makeImage, makeIndex, sha256, writeOciLayout, type Blob, type TestImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skopeo, tool } from '../helpers/tools.js';

/** `manifold push / pull / copy` between a live registry, OCI layouts and docker archives. */
describe('manifold push, pull, copy', () => {
  let srv: TestServer;
  let other: TestServer;
  let cli: Cli;
  let images: TestImage[];
  let index: Blob;
  let layout: string;

  const manifestOf = async (s: TestServer, repo: string, ref: string) => {
    const res = await req(s.url, `/v2/${repo}/manifests/${ref}`, { headers: { Accept: ALL_MANIFEST_TYPES } });
    return { status: res.status, digest: res.headers.get('docker-content-digest'), bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const readLayoutIndex = async (dir: string) =>
    JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[] };

  before(async () => {
    srv = await startTestServer();
    other = await startTestServer();
    cli = await Cli.create();
    images = [
      await makeImage({ os: 'linux', architecture: 'amd64' }),
      await makeImage({ os: 'linux', architecture: 'arm64', variant: 'v8' }),
      await makeImage({ os: 'linux', architecture: 'arm', variant: 'v7' }),
    ];
    index = makeIndex(images);
    layout = join(cli.home, 'layout');
    await writeOciLayout(layout, images, index, 'v1');
  });
  after(async () => {
    await srv.stop();
    await other.stop();
    await cli.dispose();
  });

  test('push an OCI layout index: every platform, byte-identical, digest on stdout', async () => {
    const r = await cli.ok(['push', `oci:${layout}:v1`, `${srv.host}/app:v1`]);
    assert.equal(r.stdout.trim(), index.digest);
    assert.match(r.stderr, /linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7/);
    assert.match(r.stderr, /6 blob\(s\) copied/);
    const got = await manifestOf(srv, 'app', 'v1');
    assert.equal(got.digest, index.digest);
    assert.ok(got.bytes.equals(index.bytes));
    for (const img of images) assert.equal((await manifestOf(srv, 'app', img.manifest.digest)).status, 200);
    // a real third-party client reads what was pushed
    const raw = await skopeo(['inspect', '--raw', `docker://${srv.host}/app:v1`]);
    assert.equal(sha256(raw), index.digest);
  });

  test('pushing again transfers nothing; progress lines are plain when not on a terminal', async () => {
    const r = await cli.ok(['push', `oci:${layout}:v1`, `${srv.host}/app:v1`]);
    assert.match(r.stderr, /0 blob\(s\) copied/);
    const quiet = await cli.ok(['push', '--quiet', `oci:${layout}:v1`, `${srv.host}/app:again`]);
    assert.equal(quiet.stderr, '');
    assert.equal(quiet.stdout.trim(), index.digest);
  });

  test('pull picks the image for this machine into an OCI layout named after the repository', async () => {
    const r = await cli.ok(['pull', `${srv.host}/app:v1`]);
    assert.equal(r.stdout.trim(), images[0]!.manifest.digest, 'linux/amd64 on this machine');
    const idx = await readLayoutIndex(join(cli.home, 'app'));
    assert.equal(idx.manifests.length, 1);
    assert.equal(idx.manifests[0]!.digest, images[0]!.manifest.digest);
    assert.equal(idx.manifests[0]!.annotations?.['org.opencontainers.image.ref.name'], 'v1');
    // skopeo reads the layout we wrote
    const inspected = JSON.parse(await skopeo(['inspect', `oci:${join(cli.home, 'app')}:v1`])) as { Architecture: string; Digest: string };
    assert.equal(inspected.Architecture, 'amd64');
  });

  test('pull --platform follows containerd rules: exact, fallback, and a clear error listing what exists', async () => {
    const dest = join(cli.home, 'pulled');
    let r = await cli.ok(['pull', '--platform', 'linux/aarch64', `${srv.host}/app:v1`, `oci:${dest}:arm64`]);
    assert.equal(r.stdout.trim(), images[1]!.manifest.digest);
    r = await cli.ok(['pull', '--platform', 'linux/arm/v8', `${srv.host}/app:v1`, `oci:${dest}:armv8`]);
    assert.equal(r.stdout.trim(), images[2]!.manifest.digest, 'arm/v8 falls back to arm/v7');
    const err = await cli.fails(['pull', '--platform', 'linux/s390x', `${srv.host}/app:v1`, `oci:${dest}:s390x`]);
    assert.match(err, /no image for linux\/s390x.*it has: linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7/);
    const tags = (await readLayoutIndex(dest)).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort();
    assert.deepEqual(tags, ['arm64', 'armv8'], 'the failed pull wrote no entry');
  });

  test('pull --all-platforms keeps the index byte for byte', async () => {
    const dest = join(cli.home, 'all');
    const r = await cli.ok(['pull', '--all-platforms', `${srv.host}/app:v1`, `oci:${dest}:v1`]);
    assert.equal(r.stdout.trim(), index.digest);
    const raw = await skopeo(['inspect', '--raw', `oci:${dest}:v1`]);
    assert.equal(sha256(raw), index.digest);
    const blobs = await readdir(join(dest, 'blobs', 'sha256'));
    assert.equal(blobs.length, 10, 'index + 3 manifests + 3 configs + 3 layers');
  });

  test('copy within a registry mounts; across registries it transfers; --platform makes a reduced index', async () => {
    let r = await cli.ok(['copy', `${srv.host}/app:v1`, `${srv.host}/mirror/app:v1`]);
    assert.match(r.stderr, /0 blob\(s\) copied .*, 6 mounted/);
    assert.equal(r.stdout.trim(), index.digest);

    r = await cli.ok(['copy', `docker://${srv.host}/app:v1`, `docker://${other.host}/app:v1`]);
    assert.match(r.stderr, /6 blob\(s\) copied/);
    assert.equal((await manifestOf(other, 'app', 'v1')).digest, index.digest);

    r = await cli.ok(['copy', '--platform', 'linux/amd64', '--platform', 'linux/arm64', `${srv.host}/app:v1`, `${other.host}/sparse:v1`]);
    assert.match(r.stderr, /reduced index whose digest differs/);
    const sparse = await manifestOf(other, 'sparse', 'v1');
    assert.notEqual(sparse.digest, index.digest);
    assert.equal(sparse.digest, r.stdout.trim());
    const children = (JSON.parse(sparse.bytes.toString()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
    assert.deepEqual(children, [images[0]!.manifest.digest, images[1]!.manifest.digest]);
    assert.equal((await manifestOf(other, 'sparse', images[2]!.manifest.digest)).status, 404);
  });

  test('docker archives: skopeo-written archive pushes; a pulled archive reads back in skopeo', async () => {
    const archive = join(cli.home, 'skopeo.tar');
    await skopeo(['copy', `docker://${srv.host}/app@${images[1]!.manifest.digest}`, `docker-archive:${archive}:app:arm64`]);
    const r = await cli.ok(['push', `docker-archive:${archive}`, `${srv.host}/from-archive:arm64`]);
    const pushed = JSON.parse((await manifestOf(srv, 'from-archive', 'arm64')).bytes.toString()) as { config: { digest: string }; layers: { digest: string }[] };
    assert.equal(pushed.config.digest, images[1]!.config.digest, 'the config is carried unchanged');
    assert.equal(r.stdout.trim(), (await manifestOf(srv, 'from-archive', 'arm64')).digest);
    // the layer was compressed for the registry, and still unpacks to the config's diff_id
    const layer = await req(srv.url, `/v2/from-archive/blobs/${pushed.layers[0]!.digest}`);
    const diffIds = (JSON.parse(images[1]!.config.bytes.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
    assert.equal(sha256(gunzipSync(Buffer.from(await layer.arrayBuffer()))), diffIds[0]);

    const out = join(cli.home, 'pulled.tar');
    await cli.ok(['pull', '--platform', 'linux/arm/v7', `${srv.host}/app:v1`, `docker-archive:${out}`]);
    const inspected = JSON.parse(await skopeo(['inspect', `docker-archive:${out}`])) as { Architecture: string; RepoTags: string[] };
    assert.equal(inspected.Architecture, 'arm');
    const saved = JSON.parse(await tool('tar', ['-xOf', out, 'manifest.json'])) as { RepoTags: string[]; Layers: string[] }[];
    assert.deepEqual(saved[0]!.RepoTags, [`${srv.host}/app:v1`], 'docker load tags it as it was pulled');
    assert.match(saved[0]!.Layers[0]!, /^[a-f0-9]{64}\.tar$/, 'layers stored uncompressed under their diff_id');
    const config = await skopeo(['inspect', '--config', '--raw', `docker-archive:${out}`]);
    assert.equal(sha256(config), images[2]!.config.digest);
    // skopeo verifies the diff_ids when it copies the archive out
    await skopeo(['copy', `docker-archive:${out}`, `oci:${join(cli.home, 'roundtrip')}:x`]);
    const err = await cli.fails(['pull', '--all-platforms', `${srv.host}/app:v1`, `docker-archive:${join(cli.home, 'multi.tar')}`]);
    assert.match(err, /holds one image: pick one with --platform/);
  });

  test('login to an open Manifold succeeds (as docker\'s does) and logout forgets it', async () => {
    const r = await cli.ok(['login', srv.host, '-u', 'ci', '--password-stdin'], { input: 'pw\n' });
    assert.match(r.stdout, /Login Succeeded/);
    const config = JSON.parse(await readFile(join(cli.home, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(config.auths[srv.host]!.auth, 'base64').toString(), 'ci:pw');
    assert.match((await cli.ok(['logout', srv.host])).stdout, /Removing login credentials/);
    assert.match(await cli.fails(['login', srv.host, '-u', 'ci']), /no password given: use --password-stdin or -p/);
  });

  test('bad input: one clear line and a non-zero exit', async () => {
    assert.match(await cli.fails(['pull', `${srv.host}/app:nope`, `oci:${join(cli.home, 'x')}`]), /404 MANIFEST_UNKNOWN/);
    assert.match(await cli.fails(['pull', `${srv.host}/App:v1`]), /invalid repository name "App"/);
    assert.match(await cli.fails(['push', `oci:${join(cli.home, 'missing')}`, `${srv.host}/x:1`]), /not an OCI image layout/);
    assert.match(await cli.fails(['push', `oci:${layout}:nope`, `${srv.host}/x:1`]), /no image tagged "nope" \(tags here: v1\)/);
    assert.match(await cli.fails(['copy', `dir:${layout}`, `${srv.host}/x:1`]), /dir: transport is not supported/);
    assert.match(await cli.fails(['pull', '--concurrency', '0', `${srv.host}/app:v1`]), /--concurrency/);
    const closed = await startTestServer();
    await closed.stop();
    assert.match(await cli.fails(['pull', `${closed.host}/app:v1`, `oci:${join(cli.home, 'y')}`]), /cannot reach 127\.0\.0\.1:\d+ .*ECONNREFUSED/);
  });

  test('a corrupt blob in a layout is refused, and the registry keeps no tag', async () => {
    const dir = join(cli.home, 'corrupt');
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await writeOciLayout(dir, [img], undefined, 'bad');
    const layerFile = join(dir, 'blobs', 'sha256', img.layers[0]!.digest.slice(7));
    await writeFile(layerFile, Buffer.alloc(img.layers[0]!.size, 1));
    assert.match(await cli.fails(['push', `oci:${dir}:bad`, `${srv.host}/corrupt:bad`]), /400 DIGEST_INVALID/);
    await writeFile(layerFile, Buffer.from('short'));
    assert.match(await cli.fails(['push', `oci:${dir}:bad`, `${srv.host}/corrupt:bad`]), /is 5 bytes, its manifest says/);
    assert.equal((await manifestOf(srv, 'corrupt', 'bad')).status, 404);
  });
});
