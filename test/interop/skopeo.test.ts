import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { extract } from 'tar-stream';
import { makeImage, makeIndex, sha256, writeOciLayout, type Blob, type TestImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES as ALL_TYPES, DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { pushImage, req } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { readDirLayout, writeDirLayout } from './dir-layout.js';

/**
 * Interop with the real `skopeo` binary: pushes from OCI layouts, pulls back into layouts and
 * archives, registry-to-registry copies, tag listing and deletion. Every skopeo call runs with
 * TLS verification off, so skopeo first tries HTTPS on the plain-HTTP port and falls back, and
 * with its own policy, registries.conf, registries.d, auth file, HOME and temp dir, so no user
 * configuration or credentials are read or written. (skopeo's blob-info cache, which test 5 relies
 * on to mount across repositories, follows HOME for other users but is always
 * /var/lib/containers/cache for root; skopeo has no flag to move it.)
 */

const run = promisify(execFile);


interface LoggedRequest {
  method: string;
  url: string;
  status: number;
}

let srv: TestServer;
let base: string;
let work: string;
let env: NodeJS.ProcessEnv;
let globalArgs: string[];
/** Every request the server finished, with its status. */
const requests: LoggedRequest[] = [];
/** Connections the HTTP parser refused (skopeo's TLS ClientHello on the plain port lands here). */
let clientErrors = 0;

/** Runs skopeo; a non-zero exit fails the test with skopeo's stderr in the message. */
async function skopeo(...args: string[]): Promise<string> {
  const all = [...globalArgs, ...args];
  try {
    const { stdout } = await run('skopeo', all, { env, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string; code?: unknown; signal?: unknown };
    assert.fail(`skopeo ${all.join(' ')} failed (exit ${String(err.code)}${err.signal ? `, ${String(err.signal)}` : ''}):\n${err.stderr || err.message}`);
  }
}

/** Like skopeo(), but expects failure and returns stderr. */
async function skopeoFails(...args: string[]): Promise<string> {
  const all = [...globalArgs, ...args];
  try {
    const { stdout } = await run('skopeo', all, { env, timeout: 30_000 });
    assert.fail(`skopeo ${all.join(' ')} unexpectedly succeeded:\n${stdout}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return (e as { stderr?: string }).stderr ?? '';
  }
}

async function getManifest(repo: string, ref: string, accept = ALL_TYPES) {
  const res = await req(base, `/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function getBlob(repo: string, digest: string): Promise<Buffer> {
  const res = await req(base, `/v2/${repo}/blobs/${digest}`);
  assert.equal(res.status, 200, `GET blob ${digest} in ${repo}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Asserts that the registry serves `m` byte-exact under `repo`@`ref` with the right headers. */
async function assertManifest(repo: string, ref: string, m: Blob): Promise<void> {
  const { res, bytes } = await getManifest(repo, ref);
  assert.equal(res.status, 200, `GET ${repo}/manifests/${ref}: ${bytes.toString()}`);
  assert.equal(res.headers.get('content-type'), m.mediaType, `content type of ${repo}@${ref}`);
  assert.equal(res.headers.get('docker-content-digest'), m.digest, `digest of ${repo}@${ref}`);
  assert.ok(bytes.equals(m.bytes), `bytes of ${repo}@${ref} differ:\n${bytes.toString()}\nvs\n${m.bytes.toString()}`);
}

/** Asserts that an image's manifest (by digest), config and layers are all in `repo`, byte-exact. */
async function assertImage(repo: string, img: TestImage): Promise<void> {
  await assertManifest(repo, img.manifest.digest, img.manifest);
  for (const b of [img.config, ...img.layers]) assert.ok((await getBlob(repo, b.digest)).equals(b.bytes), `blob ${b.digest} in ${repo}`);
}

interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** An OCI layout as skopeo wrote it: index.json and a blob reader that verifies digests. */
async function readLayout(files: (path: string) => Promise<Buffer | undefined>) {
  const indexJson = await files('index.json');
  assert.ok(indexJson, 'layout has no index.json');
  const layoutFile = await files('oci-layout');
  assert.ok(layoutFile, 'layout has no oci-layout');
  assert.equal((JSON.parse(layoutFile.toString()) as { imageLayoutVersion: string }).imageLayoutVersion, '1.0.0');
  const index = JSON.parse(indexJson.toString()) as { manifests: OciDescriptor[] };
  return {
    index,
    async blob(digest: string): Promise<Buffer> {
      const b = await files(`blobs/sha256/${digest.slice('sha256:'.length)}`);
      assert.ok(b, `layout lacks blob ${digest}`);
      assert.equal(sha256(b), digest, `layout blob ${digest} has the wrong content`);
      return b;
    },
  };
}

function layoutDir(dir: string) {
  return readLayout(async (p) => readFile(join(dir, p)).catch(() => undefined));
}

/** All regular files of an (uncompressed) tar archive. */
async function readTar(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') out.set(header.name.replace(/^\.\//, ''), Buffer.concat(chunks));
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  createReadStream(file).on('error', (e) => ex.destroy(e)).pipe(ex);
  await done;
  return out;
}

/** Writes an OCI layout for the images (and index) under a fresh directory and returns its path. */
async function layout(name: string, images: TestImage[], index: Blob | undefined, tag: string): Promise<string> {
  const dir = join(work, 'layouts', name);
  await writeOciLayout(dir, images, index, tag);
  return dir;
}

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

before(async () => {
  srv = await startTestServer();
  base = srv.url;
  srv.server.on('request', (rq, rs) => {
    rs.on('finish', () => requests.push({ method: rq.method ?? '', url: rq.url ?? '', status: rs.statusCode }));
  });
  srv.server.on('clientError', () => clientErrors++);

  work = await mkdtemp(join(tmpdir(), 'manifold-skopeo-'));
  const home = join(work, 'home');
  await Promise.all([mkdir(home), mkdir(join(work, 'tmp')), mkdir(join(work, 'registries.d')), mkdir(join(work, 'layouts'))]);
  await writeFile(join(work, 'auth.json'), JSON.stringify({ auths: {} }));
  await writeFile(join(work, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(join(work, 'registries.conf'), 'unqualified-search-registries = []\n');
  env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_RUNTIME_DIR: join(work, 'tmp'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    DOCKER_CONFIG: join(home, '.docker'),
    REGISTRY_AUTH_FILE: join(work, 'auth.json'),
    CONTAINERS_REGISTRIES_CONF: join(work, 'registries.conf'),
    TMPDIR: join(work, 'tmp'),
  };
  globalArgs = ['--policy', join(work, 'policy.json'), '--registries.d', join(work, 'registries.d'), '--tmpdir', join(work, 'tmp')];
});

after(async () => {
  await srv?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('skopeo against Manifold', () => {
  let single: TestImage;
  const multi: TestImage[] = [];
  let multiIndex: Blob;

  test('1. OCI single image: oci: layout → registry, byte-exact', async () => {
    single = await makeImage({ os: 'linux', architecture: 'amd64' }, 'oci');
    const dir = await layout('oci-single', [single], undefined, 'v1');
    const probesBefore = clientErrors;
    await skopeo('copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${srv.host}/interop/oci-single:v1`);
    assert.ok(clientErrors > probesBefore, 'skopeo was expected to probe HTTPS first (a refused TLS handshake on the plain port)');

    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${srv.host}/interop/oci-single:v1`);
    assert.equal(raw, single.manifest.bytes.toString(), 'skopeo inspect --raw must return the pushed manifest bytes');

    const { res, bytes } = await getManifest('interop/oci-single', 'v1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
    assert.equal(res.headers.get('docker-content-digest'), single.manifest.digest);
    assert.ok(bytes.equals(single.manifest.bytes));
    await assertImage('interop/oci-single', single);

    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${srv.host}/interop/oci-single:v1`)) as Record<string, unknown>;
    assert.equal(info.Digest, single.manifest.digest);
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
    assert.deepEqual(info.Layers, [single.layers[0]!.digest]);
    assert.deepEqual(info.RepoTags, ['v1']);
    assert.equal(info.Created, '2026-01-01T00:00:00Z');

    const config = await skopeo('inspect', '--tls-verify=false', '--config', '--raw', `docker://${srv.host}/interop/oci-single:v1`);
    assert.equal(config, single.config.bytes.toString(), 'skopeo inspect --config --raw must return the config blob bytes');

    // The server answered every HTTP request it got without a 5xx.
    const failures = requests.filter((r) => r.status >= 500);
    assert.deepEqual(failures, []);
  });

  test('2a. --format v2s2 converts an OCI image to a Docker schema 2 manifest', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' }, 'oci');
    const dir = await layout('oci-for-v2s2', [img], undefined, 'v1');
    await skopeo('copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${dir}:v1`, `docker://${srv.host}/interop/v2s2:converted`);

    const { res, bytes } = await getManifest('interop/v2s2', 'converted');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), DOCKER_MANIFEST);
    assert.equal(res.headers.get('docker-content-digest'), sha256(bytes));
    const m = JSON.parse(bytes.toString()) as { schemaVersion: number; mediaType: string; config: OciDescriptor; layers: OciDescriptor[] };
    assert.equal(m.schemaVersion, 2);
    assert.equal(m.mediaType, DOCKER_MANIFEST);
    assert.deepEqual(m.config, { mediaType: DOCKER_CONFIG, digest: img.config.digest, size: img.config.size });
    assert.deepEqual(m.layers, [{ mediaType: DOCKER_LAYER, digest: img.layers[0]!.digest, size: img.layers[0]!.size }]);
    assert.ok((await getBlob('interop/v2s2', img.config.digest)).equals(img.config.bytes));
    assert.ok((await getBlob('interop/v2s2', img.layers[0]!.digest)).equals(img.layers[0]!.bytes));

    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${srv.host}/interop/v2s2:converted`);
    assert.equal(raw, bytes.toString());
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${srv.host}/interop/v2s2:converted`)) as Record<string, unknown>;
    assert.equal(info.Digest, sha256(bytes));
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
  });

  // skopeo's oci: transport only looks at OCI manifests and indexes in index.json ("no descriptor
  // found for reference"), so Docker-format images travel in a dir: layout, which keeps their bytes.
  test('2b. a Docker-format image from a dir: layout is stored as Docker schema 2, byte-exact', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' }, 'docker');
    const dir = join(work, 'layouts', 'docker-single');
    await writeDirLayout(dir, [img]);
    await skopeo('copy', '--dest-tls-verify=false', `dir:${dir}`, `docker://${srv.host}/interop/docker-single:v1`);

    await assertManifest('interop/docker-single', 'v1', img.manifest);
    await assertImage('interop/docker-single', img);
    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${srv.host}/interop/docker-single:v1`);
    assert.equal(raw, img.manifest.bytes.toString());
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${srv.host}/interop/docker-single:v1`)) as Record<string, unknown>;
    assert.equal(info.Digest, img.manifest.digest);
    assert.equal(info.Architecture, 'amd64');
  });

  test('2c. --dest-compress-format zstd: recompressed layers are stored and served intact', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' }, 'oci');
    const dir = await layout('oci-for-zstd', [img], undefined, 'v1');
    const ref = `docker://${srv.host}/interop/zstd:v1`;
    await skopeo('copy', '--dest-tls-verify=false', '--dest-compress-format', 'zstd', `oci:${dir}:v1`, ref);

    const { res, bytes } = await getManifest('interop/zstd', 'v1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
    assert.equal(res.headers.get('docker-content-digest'), sha256(bytes));
    const m = JSON.parse(bytes.toString()) as { config: OciDescriptor; layers: OciDescriptor[] };
    assert.equal(m.config.digest, img.config.digest);
    assert.equal(m.layers.length, 1);
    assert.equal(m.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
    const layer = await getBlob('interop/zstd', m.layers[0]!.digest);
    assert.equal(sha256(layer), m.layers[0]!.digest);
    assert.equal(layer.length, m.layers[0]!.size);
    assert.deepEqual([...layer.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'a zstd frame');

    // Pulled into a dir: layout with decompressed layers (docker-archive refuses zstd), the
    // zstd layer is the original tar.
    const out = join(work, 'layouts', 'zstd-out');
    await skopeo('copy', '--src-tls-verify=false', '--dest-decompress', ref, `dir:${out}`);
    const pulled = JSON.parse((await readDirLayout(out).manifest())!.toString()) as { layers: OciDescriptor[] };
    assert.equal(pulled.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    const tar = await readDirLayout(out).blob(pulled.layers[0]!.digest);
    assert.ok(tar?.equals(gunzipSync(img.layers[0]!.bytes)), 'the zstd layer must decompress to the original tar');
  });

  test('3. multi-arch OCI index: copy --all in and out, byte-exact', async () => {
    for (const p of PLATFORMS) multi.push(await makeImage(p, 'oci'));
    multiIndex = makeIndex(multi, 'oci');
    const dir = await layout('multi', multi, multiIndex, 'latest');
    const ref = `docker://${srv.host}/interop/multi:latest`;
    await skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${dir}:latest`, ref);

    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', ref);
    assert.equal(raw, multiIndex.bytes.toString(), 'skopeo inspect --raw must return the index bytes');
    await assertManifest('interop/multi', 'latest', multiIndex);
    for (const img of multi) await assertImage('interop/multi', img);

    // And back out into a fresh layout.
    const out = join(work, 'layouts', 'multi-out');
    await skopeo('copy', '--all', '--src-tls-verify=false', ref, `oci:${out}:latest`);
    const got = await layoutDir(out);
    assert.equal(got.index.manifests.length, 1);
    const top = got.index.manifests[0]!;
    assert.equal(top.digest, multiIndex.digest);
    assert.equal(top.mediaType, OCI_INDEX);
    assert.equal(top.size, multiIndex.size);
    assert.equal(top.annotations?.['org.opencontainers.image.ref.name'], 'latest');
    assert.ok((await got.blob(multiIndex.digest)).equals(multiIndex.bytes));
    for (const img of multi) {
      for (const b of [img.manifest, img.config, ...img.layers]) assert.ok((await got.blob(b.digest)).equals(b.bytes), `${b.digest} in ${out}`);
    }
  });

  test('4. multi-arch Docker manifest list: copy --all in and out, platform selection', async () => {
    const images: TestImage[] = [];
    for (const p of PLATFORMS) images.push(await makeImage(p, 'docker'));
    const list = makeIndex(images, 'docker');
    const dir = join(work, 'layouts', 'docker-multi');
    await writeDirLayout(dir, images, list);
    const ref = `docker://${srv.host}/interop/docker-multi:latest`;
    await skopeo('copy', '--all', '--dest-tls-verify=false', `dir:${dir}`, ref);

    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', ref);
    assert.equal(raw, list.bytes.toString(), 'skopeo inspect --raw must return the manifest list bytes');
    await assertManifest('interop/docker-multi', 'latest', list);
    for (const img of images) await assertImage('interop/docker-multi', img);

    // skopeo inspect reports the digest of the manifest the reference names (the list), and the
    // rest (architecture, layers) from the instance it picked, which it GETs by digest.
    const arm64 = images[1]!;
    let from = requests.length;
    const info = JSON.parse(await skopeo('--override-arch', 'arm64', '--override-os', 'linux', 'inspect', '--tls-verify=false', ref)) as Record<string, unknown>;
    assert.equal(info.Digest, list.digest);
    assert.ok(
      requests.slice(from).some((r) => r.method === 'GET' && r.url === `/v2/interop/docker-multi/manifests/${arm64.manifest.digest}` && r.status === 200),
      'skopeo should fetch the arm64 instance by digest',
    );
    assert.equal(info.Architecture, 'arm64');
    assert.equal(info.Os, 'linux');
    assert.deepEqual(info.Layers, [arm64.layers[0]!.digest]);

    const armv7 = images[2]!;
    from = requests.length;
    const v7 = JSON.parse(
      await skopeo('--override-arch', 'arm', '--override-variant', 'v7', '--override-os', 'linux', 'inspect', '--tls-verify=false', ref),
    ) as Record<string, unknown>;
    assert.ok(
      requests.slice(from).some((r) => r.method === 'GET' && r.url === `/v2/interop/docker-multi/manifests/${armv7.manifest.digest}` && r.status === 200),
      'skopeo should fetch the arm/v7 instance by digest',
    );
    assert.deepEqual(v7.Layers, [armv7.layers[0]!.digest]);
    assert.equal(v7.Architecture, 'arm');
    // (skopeo 1.9 has no Variant field in inspect's output; the layer pins the instance.)

    // Back out into a dir: layout (an oci: destination would convert the list to an OCI index).
    const out = join(work, 'layouts', 'docker-multi-out');
    await skopeo('copy', '--all', '--src-tls-verify=false', ref, `dir:${out}`);
    const got = readDirLayout(out);
    assert.equal(await got.version(), 'Directory Transport Version: 1.1\n');
    assert.deepEqual(await got.manifest(), list.bytes, 'the list skopeo pulled must be the pushed list');
    for (const img of images) {
      assert.deepEqual(await got.manifest(img.manifest.digest), img.manifest.bytes, `instance ${img.manifest.digest}`);
      for (const b of [img.config, ...img.layers]) assert.deepEqual(await got.blob(b.digest), b.bytes, `${b.digest} in ${out}`);
    }
  });

  test('5. registry → registry copy --all within Manifold mounts blobs and keeps digests', async () => {
    assert.ok(multiIndex, 'needs the index pushed by test 3');
    const from = requests.length;
    await skopeo('copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${srv.host}/interop/multi:latest`, `docker://${srv.host}/other/multi:copy`);

    await assertManifest('other/multi', 'copy', multiIndex);
    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${srv.host}/other/multi:copy`);
    assert.equal(raw, multiIndex.bytes.toString());
    for (const img of multi) await assertImage('other/multi', img);

    // skopeo's blob-info cache knows the layers live in interop/multi, so it mounts them from there.
    const mounts = requests
      .slice(from)
      .filter((r) => r.method === 'POST' && r.url.startsWith('/v2/other/multi/blobs/uploads/') && r.url.includes('mount='));
    for (const img of multi) {
      const layer = img.layers[0]!.digest;
      const m = mounts.find((r) => new URL(r.url, base).searchParams.get('mount') === layer);
      assert.ok(m, `skopeo did not try to mount ${layer}; requests: ${JSON.stringify(requests.slice(from).map((r) => `${r.method} ${r.url} ${r.status}`))}`);
      assert.equal(new URL(m.url, base).searchParams.get('from'), 'interop/multi');
      assert.equal(m.status, 201, `mount of ${layer} should succeed`);
    }
  });

  test('5b. copy without --all picks one instance of the index', async () => {
    assert.ok(multiIndex, 'needs the index pushed by test 3');
    const ref = `docker://${srv.host}/interop/arm64-only:v1`;
    await skopeo('--override-arch', 'arm64', '--override-os', 'linux', 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${srv.host}/interop/multi:latest`, ref);
    const arm64 = multi[1]!;
    await assertManifest('interop/arm64-only', 'v1', arm64.manifest);
    await assertImage('interop/arm64-only', arm64);
    assert.equal(await skopeo('inspect', '--tls-verify=false', '--raw', ref), arm64.manifest.bytes.toString());
  });

  test('6. list-tags, then delete a manifest', async () => {
    await skopeo('copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${srv.host}/interop/multi:latest`, `docker://${srv.host}/interop/multi:second`);
    const tags = JSON.parse(await skopeo('list-tags', '--tls-verify=false', `docker://${srv.host}/interop/multi`)) as { Repository: string; Tags: string[] };
    assert.equal(tags.Repository, `${srv.host}/interop/multi`);
    assert.deepEqual([...tags.Tags].sort(), ['latest', 'second']);

    assert.ok(single, 'needs the image pushed by test 1');
    await skopeo('delete', '--tls-verify=false', `docker://${srv.host}/interop/oci-single:v1`);
    const deleteReq = requests.find((r) => r.method === 'DELETE' && r.url === `/v2/interop/oci-single/manifests/${single.manifest.digest}`);
    assert.ok(deleteReq, 'skopeo delete should DELETE the manifest by digest');
    assert.equal(deleteReq.status, 202);

    for (const ref of ['v1', single.manifest.digest]) {
      const { res, bytes } = await getManifest('interop/oci-single', ref);
      assert.equal(res.status, 404, `GET manifests/${ref} after delete`);
      const body = JSON.parse(bytes.toString()) as { errors?: { code: string }[] };
      assert.equal(body.errors?.[0]?.code, 'MANIFEST_UNKNOWN', bytes.toString());
    }
    const stderr = await skopeoFails('inspect', '--tls-verify=false', '--raw', `docker://${srv.host}/interop/oci-single:v1`);
    assert.match(stderr, /manifest unknown/i);
    const after = JSON.parse(await skopeo('list-tags', '--tls-verify=false', `docker://${srv.host}/interop/oci-single`)) as { Tags: string[] };
    assert.deepEqual(after.Tags, []);
  });

  describe('7. registry → archives', () => {
    let img: TestImage;
    before(async () => {
      img = await makeImage({ os: 'linux', architecture: 'amd64' }, 'oci', { 'etc/hello.txt': 'hello from manifold\n' });
      await pushImage(base, 'interop/archive', img, 'v1');
    });

    test('docker-archive:', async () => {
      const file = join(work, 'image.docker.tar');
      await skopeo('copy', '--src-tls-verify=false', `docker://${srv.host}/interop/archive:v1`, `docker-archive:${file}:interop/archive:v1`);
      const files = await readTar(file);
      const manifest = JSON.parse(files.get('manifest.json')?.toString() ?? 'null') as { Config: string; RepoTags: string[]; Layers: string[] }[];
      assert.ok(Array.isArray(manifest) && manifest.length === 1, `manifest.json: ${JSON.stringify(manifest)}`);
      const entry = manifest[0]!;
      // skopeo writes the tag fully qualified (docker.io/…), as references are normalised.
      assert.equal(entry.RepoTags.length, 1);
      assert.match(entry.RepoTags[0]!, /^(docker\.io\/)?interop\/archive:v1$/);
      const config = files.get(entry.Config);
      assert.ok(config, `archive lacks ${entry.Config}`);
      assert.ok(config.equals(img.config.bytes), 'config in the archive must be the pushed config blob');
      assert.equal(entry.Layers.length, 1);
      const layer = files.get(entry.Layers[0]!);
      assert.ok(layer, `archive lacks ${entry.Layers[0]}`);
      // docker-archive stores layers uncompressed: the layer file is the pushed layer, gunzipped.
      assert.ok(layer.equals(gunzipSync(img.layers[0]!.bytes)), 'layer in the archive must be the pushed layer, decompressed');
      const diffIds = (JSON.parse(img.config.bytes.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
      assert.equal(sha256(layer), diffIds[0]);
    });

    test('oci-archive:', async () => {
      const file = join(work, 'image.oci.tar');
      await skopeo('copy', '--src-tls-verify=false', `docker://${srv.host}/interop/archive:v1`, `oci-archive:${file}:v1`);
      const files = await readTar(file);
      const got = await readLayout(async (p) => files.get(p));
      assert.equal(got.index.manifests.length, 1);
      const top = got.index.manifests[0]!;
      assert.equal(top.digest, img.manifest.digest);
      assert.equal(top.mediaType, OCI_MANIFEST);
      assert.equal(top.annotations?.['org.opencontainers.image.ref.name'], 'v1');
      for (const b of [img.manifest, img.config, ...img.layers]) assert.ok((await got.blob(b.digest)).equals(b.bytes), `${b.digest} in the archive`);
    });
  });
});
