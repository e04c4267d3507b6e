import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cli } from '../helpers/cli.js';
import { pushBlob, pushImage, pushManifest, req } from '../helpers/http.js';
import { blob, descriptor, makeImage, makeIndex, sha256, type TestImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES, DOCKER_LIST, OCI_INDEX, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';

interface Stored {
  mediaType: string;
  manifests: { digest: string; mediaType: string; platform: { os: string; architecture: string; variant?: string; 'os.version'?: string } }[];
}

/** `manifold manifest create / annotate / push / inspect / rm` against live registries. */
describe('manifold manifest', () => {
  let srv: TestServer;
  let other: TestServer;
  let cli: Cli;
  const img: Record<string, TestImage> = {};
  let src: string;

  const getList = async (s: TestServer, repo: string, ref: string) => {
    const res = await req(s.url, `/v2/${repo}/manifests/${ref}`, { headers: { Accept: ALL_MANIFEST_TYPES } });
    assert.equal(res.status, 200, `${repo}:${ref}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { digest: res.headers.get('docker-content-digest'), doc: JSON.parse(bytes.toString()) as Stored, bytes };
  };
  const platforms = (doc: Stored) => doc.manifests.map((m) => [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')).sort();
  const localLists = async () => readdir(join(cli.home, 'manifold', 'manifests')).catch(() => [] as string[]);

  before(async () => {
    srv = await startTestServer();
    other = await startTestServer();
    cli = await Cli.create();
    src = `${srv.host}/multi-arch-samples/myimage`;
    img.amd64 = await makeImage({ os: 'linux', architecture: 'amd64' }, 'docker');
    img.arm64 = await makeImage({ os: 'linux', architecture: 'arm64' }, 'docker');
    img.armv7 = await makeImage({ os: 'linux', architecture: 'arm', variant: 'v7' }, 'docker');
    img.amd64b = await makeImage({ os: 'linux', architecture: 'amd64' }, 'docker');
    img.ociS390x = await makeImage({ os: 'linux', architecture: 's390x' }, 'oci');
    for (const [tag, i] of Object.entries(img)) await pushImage(srv.url, 'multi-arch-samples/myimage', i, tag);
  });
  after(async () => {
    await srv.stop();
    await other.stop();
    await cli.dispose();
  });

  test('create, annotate --variant, push --purge: the list holds the expected platforms', async () => {
    const list = `${src}:multi`;
    const created = await cli.ok(['manifest', 'create', list, `${src}:arm64`, `${src}:amd64`, `${src}:armv7`]);
    assert.match(created.stdout, /Created manifest list/);
    await cli.ok(['manifest', 'annotate', list, `${src}:arm64`, '--variant', 'v8']);
    // a local list inspects before it is pushed
    const local = JSON.parse((await cli.ok(['manifest', 'inspect', list])).stdout) as Stored;
    assert.equal(local.mediaType, DOCKER_LIST);
    const pushed = await cli.ok(['manifest', 'push', '--purge', list]);
    const digest = pushed.stdout.trim();
    const stored = await getList(srv, 'multi-arch-samples/myimage', 'multi');
    assert.equal(stored.digest, digest);
    assert.equal(stored.doc.mediaType, DOCKER_LIST);
    assert.deepEqual(platforms(stored.doc), ['linux/amd64', 'linux/arm/v7', 'linux/arm64/v8']);
    assert.deepEqual(await localLists(), [], '--purge forgot the local list');

    // inspect: pretty JSON, --raw byte-exact, -v in docker's shape
    const raw = await cli.ok(['manifest', 'inspect', '--raw', list]);
    assert.equal(sha256(raw.stdout), digest);
    const verbose = JSON.parse((await cli.ok(['manifest', 'inspect', '-v', list])).stdout) as { Ref: string; Descriptor: { digest: string; platform: { architecture: string } }; SchemaV2Manifest: { config: unknown } }[];
    assert.equal(verbose.length, 3);
    assert.ok(verbose.every((v) => v.Ref.startsWith(`${src}@sha256:`) && v.SchemaV2Manifest.config));
    assert.equal(verbose.find((v) => v.Descriptor.platform.architecture === 'amd64')?.Descriptor.digest, img.amd64!.manifest.digest);
    // and the real docker CLI reads the list manifold pushed
    const dockerView = JSON.parse(await tool('docker', ['manifest', 'inspect', '--insecure', list], { ...process.env, DOCKER_CONFIG: cli.home })) as Stored;
    assert.deepEqual(platforms(dockerView), ['linux/amd64', 'linux/arm/v7', 'linux/arm64/v8']);
  });

  test('an index contributes all its children; attestations are left out unless asked', async () => {
    // a BuildKit-style index: two images plus an unknown/unknown attestation pointing at the first
    const att = await makeImage({ os: 'unknown', architecture: 'unknown' });
    await pushImage(srv.url, 'built', img.amd64!);
    await pushImage(srv.url, 'built', img.arm64!);
    await pushImage(srv.url, 'built', att);
    const index = makeIndex([img.amd64!, img.arm64!], 'oci', {});
    const doc = JSON.parse(index.bytes.toString()) as { manifests: unknown[] };
    doc.manifests.push(descriptor(att.manifest, { platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': img.amd64!.manifest.digest } }));
    const withAtt = blob(JSON.stringify(doc), OCI_INDEX);
    assert.equal((await pushManifest(srv.url, 'built', 'v1', withAtt)).status, 201);

    await cli.ok(['manifest', 'create', `${srv.host}/built:combined`, `${srv.host}/built:v1`, `${src}:armv7`, '--push', '-q']);
    const combined = await getList(srv, 'built', 'combined');
    assert.deepEqual(platforms(combined.doc), ['linux/amd64', 'linux/arm/v7', 'linux/arm64']);
    assert.deepEqual(await localLists(), [], '--push forgets the local list');

    await cli.ok(['manifest', 'create', '--include-attestations', '--format', 'oci', `${srv.host}/built:with-att`, `${srv.host}/built:v1`, '--push']);
    const kept = await getList(srv, 'built', 'with-att');
    assert.equal(kept.doc.mediaType, OCI_INDEX);
    assert.deepEqual(platforms(kept.doc), ['linux/amd64', 'linux/arm64', 'unknown/unknown']);
  });

  test('duplicate platforms are refused unless --force; --amend extends; create twice needs --amend', async () => {
    const list = `${src}:dups`;
    const err = await cli.fails(['manifest', 'create', list, `${src}:amd64`, `${src}:amd64b`]);
    assert.match(err, /more than one image for linux\/amd64/);
    assert.deepEqual(await localLists(), [], 'a refused create stores nothing');
    await cli.ok(['manifest', 'create', '--force', list, `${src}:amd64`, `${src}:amd64b`]);
    assert.match(await cli.fails(['manifest', 'create', list, `${src}:arm64`]), /already exists: add --amend/);
    await cli.ok(['manifest', 'create', '--amend', '--force', list, `${src}:arm64`]);
    assert.equal((JSON.parse((await cli.ok(['manifest', 'inspect', list])).stdout) as Stored).manifests.length, 3);
    await cli.ok(['manifest', 'rm', list]);
    assert.match(await cli.fails(['manifest', 'rm', list]), /no local manifest list/);
    assert.match(await cli.fails(['manifest', 'push', list]), /no local manifest list .*manifold manifest create/);
  });

  test('format rules: OCI children make an OCI index; a docker list refuses OCI manifests', async () => {
    await cli.ok(['manifest', 'create', `${src}:mixed`, `${src}:amd64`, `${src}:ociS390x`]);
    assert.equal((JSON.parse((await cli.ok(['manifest', 'inspect', `${src}:mixed`])).stdout) as Stored).mediaType, OCI_INDEX);
    await cli.ok(['manifest', 'rm', `${src}:mixed`]);
    assert.match(await cli.fails(['manifest', 'create', '--format', 'docker', `${src}:mixed`, `${src}:ociS390x`]), /cannot hold OCI manifests/);
    assert.match(await cli.fails(['manifest', 'create', `${src}:bad`, `${src}:missing`]), /404 MANIFEST_UNKNOWN/);
    assert.match(await cli.fails(['manifest', 'create', `${src}@${img.amd64!.manifest.digest}`, `${src}:amd64`]), /named by tag, not digest/);
  });

  test('annotate: os-version, os-features, and an entry that is not in the list', async () => {
    const list = `${src}:win`;
    await cli.ok(['manifest', 'create', list, `${src}:amd64`]);
    await cli.ok(['manifest', 'annotate', list, img.amd64!.manifest.digest, '--os', 'windows', '--os-version', '10.0.17763.1879', '--os-features', 'win32k']);
    const doc = JSON.parse((await cli.ok(['manifest', 'inspect', list])).stdout) as Stored & { manifests: { platform: { 'os.features'?: string[] } }[] };
    assert.deepEqual(doc.manifests[0]!.platform, { architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.1879', 'os.features': ['win32k'] });
    assert.match(await cli.fails(['manifest', 'annotate', list, `${src}:arm64`, '--variant', 'v8']), /is not in the manifest list/);
    await cli.ok(['manifest', 'rm', list]);
  });

  test('entries from another repository are mounted into the list\'s; from another registry, copied', async () => {
    await cli.ok(['manifest', 'create', `${srv.host}/published/myimage:multi`, `${src}:amd64`, `${src}:arm64`]);
    const push = await cli.ok(['manifest', 'push', '--purge', `${srv.host}/published/myimage:multi`]);
    assert.match(push.stderr, /mounted/);
    const stored = await getList(srv, 'published/myimage', 'multi');
    for (const m of stored.doc.manifests) {
      assert.equal((await req(srv.url, `/v2/published/myimage/manifests/${m.digest}`, { method: 'HEAD' })).status, 200);
    }

    await cli.ok(['manifest', 'create', `${other.host}/mirror:multi`, `${src}:amd64`, `${src}:armv7`]);
    await cli.ok(['manifest', 'push', `${other.host}/mirror:multi`]);
    const mirrored = await getList(other, 'mirror', 'multi');
    assert.deepEqual(platforms(mirrored.doc), ['linux/amd64', 'linux/arm/v7']);
    for (const m of mirrored.doc.manifests) assert.equal((await req(other.url, `/v2/mirror/manifests/${m.digest}`, { headers: { Accept: ALL_MANIFEST_TYPES } })).status, 200);
    await cli.ok(['manifest', 'rm', `${other.host}/mirror:multi`]);
  });

  test('inspect of a single image, by digest, and an artifact without a platform', async () => {
    const single = JSON.parse((await cli.ok(['manifest', 'inspect', '-v', `${src}@${img.amd64!.manifest.digest}`])).stdout) as { Descriptor: { digest: string } };
    assert.equal(single.Descriptor.digest, img.amd64!.manifest.digest);
    const empty = blob('{}', 'application/vnd.oci.empty.v1+json');
    await pushBlob(srv.url, 'art', empty);
    const artifact = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/x-test', config: descriptor(empty), layers: [descriptor(empty)] }), OCI_MANIFEST);
    assert.equal((await pushManifest(srv.url, 'art', 'v1', artifact)).status, 201);
    assert.match(await cli.fails(['manifest', 'create', `${srv.host}/art:list`, `${srv.host}/art:v1`]), /has no platform/);
  });
});
