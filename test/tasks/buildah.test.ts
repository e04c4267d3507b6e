import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { pack } from 'tar-stream';
import { emulationProblem } from '../../src/build/binfmt.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { Cli } from '../helpers/cli.js';
import { pushBlob, pushManifest, req } from '../helpers/http.js';
import { blob, descriptor, sha256 } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const exists = (p: string) => access(p).then(() => true, () => false);
/** A static 64-bit ELF binary: no PT_INTERP program header (no dynamic loader to find in the image). */
async function isStatic(path: string): Promise<boolean> {
  if (!(await exists(path))) return false;
  const b = await readFile(path);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const size = b.readUInt16LE(0x36);
  return Array.from({ length: b.readUInt16LE(0x38) }, (_, i) => b.readUInt32LE(phoff + i * size)).every((type) => type !== 3);
}

/** Where CI leaves Debian's arm64 busybox-static binary (see .ci/run). */
const ARM64_BUSYBOX = process.env.MANIFOLD_TEST_BUSYBOX_ARM64 || join(import.meta.dirname, '..', '..', '.ci', 'cache', 'busybox-arm64');

async function onPath(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':')) if (await exists(join(dir, cmd))) return true;
  return false;
}

/** A real rootfs image: busybox as /bin/busybox and /bin/sh, for one architecture. */
async function busyboxImage(binary: string, architecture: string) {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => p.on('end', r));
  p.entry({ name: 'bin/', type: 'directory', mode: 0o755 });
  p.entry({ name: 'bin/busybox', mode: 0o755 }, await readFile(binary));
  p.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox' });
  p.entry({ name: 'tmp/', type: 'directory', mode: 0o1777 });
  p.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  const layer = blob(gzipSync(tar), OCI_LAYER_GZIP);
  const config = blob(JSON.stringify({ architecture, os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }), OCI_CONFIG);
  const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(config), layers: [descriptor(layer)] }), OCI_MANIFEST);
  return { layer, config, manifest, architecture };
}

/** buildah builds with RUN: natively, and for arm64 through qemu where binfmt_misc has it. */
describe('manifold run with buildah', async () => {
  const missing: string[] = [];
  if (!(await onPath('buildah'))) missing.push('buildah is not installed (apt-get install buildah)');
  if (!(await isStatic('/bin/busybox'))) missing.push('a static /bin/busybox is needed for the base image (apt-get install busybox-static)');
  const crossProblem = (await isStatic(ARM64_BUSYBOX))
    ? await emulationProblem({ os: 'linux', architecture: 'arm64' })
    : `no arm64 busybox-static binary at ${ARM64_BUSYBOX} (.ci/run fetches it with apt-get download busybox-static:arm64)`;

  let srv: TestServer;
  let cli: Cli;
  let ctx: string;

  before(async () => {
    if (missing.length) return;
    srv = await startTestServer();
    cli = await Cli.create();
    ctx = await mkdtemp(join(tmpdir(), 'manifold-buildah-'));
    const images = [await busyboxImage('/bin/busybox', 'amd64')];
    if (!crossProblem) images.push(await busyboxImage(ARM64_BUSYBOX, 'arm64'));
    for (const i of images) {
      for (const b of [i.layer, i.config]) await pushBlob(srv.url, 'busybox', b);
      assert.equal((await pushManifest(srv.url, 'busybox', i.manifest.digest, i.manifest)).status, 201);
    }
    const index = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: images.map((i) => descriptor(i.manifest, { platform: { os: 'linux', architecture: i.architecture } })) }), OCI_INDEX);
    assert.equal((await pushManifest(srv.url, 'busybox', '1', index)).status, 201);
    await writeFile(join(ctx, 'Dockerfile'), [`FROM ${srv.host}/busybox:1`, 'ARG TARGETPLATFORM', 'RUN echo "$(/bin/busybox uname -m) $TARGETPLATFORM" > /arch.txt', ''].join('\n'));
  });
  after(async () => {
    await srv?.stop();
    await cli?.dispose();
    if (ctx) await rm(ctx, { recursive: true, force: true });
  });

  /** The text of /arch.txt in the image the registry serves under `tag`. */
  const archFile = async (tag: string) => {
    const m = JSON.parse(await (await req(srv.url, `/v2/built/manifests/${tag}`, { headers: { Accept: ALL_MANIFEST_TYPES } })).text()) as { layers: { digest: string }[] };
    const top = gunzipSync(Buffer.from(await (await req(srv.url, `/v2/built/blobs/${m.layers[m.layers.length - 1]!.digest}`)).arrayBuffer()));
    return /([a-z0-9_]+ linux\/[a-z0-9/]+)\n/.exec(top.toString('latin1'))?.[1];
  };

  test('a Dockerfile with RUN picks buildah and runs it (chroot isolation, vfs)', { skip: missing.join('; ') || false }, async () => {
    const archs = crossProblem ? ['amd64'] : ['amd64', 'arm64'];
    const task = [
      'version: v1.1.0',
      'steps:',
      ...archs.flatMap((a) => [`- id: build-${a}`, `  build: -t {{.Run.Registry}}/built:{{.Run.ID}}-${a} --platform linux/${a} .`, '  when: ["-"]']),
      `- push: [${archs.map((a) => `"{{.Run.Registry}}/built:{{.Run.ID}}-${a}"`).join(', ')}]`,
      `  when: [${archs.map((a) => `build-${a}`).join(', ')}]`,
      `- cmd: docker manifest create {{.Run.Registry}}/built:multi ${archs.map((a) => `{{.Run.Registry}}/built:{{.Run.ID}}-${a}`).join(' ')}`,
      '- cmd: docker manifest push {{.Run.Registry}}/built:multi',
      '',
    ].join('\n');
    await writeFile(join(ctx, 'task.yaml'), task);
    const r = await cli.ok(['run', '-f', 'task.yaml', '.', '--registry', srv.host, '--id', 'b1'], { cwd: ctx });
    assert.match(r.stderr, /\[build-amd64\]\s+using buildah \(Dockerfile:3: RUN needs buildah\)/);
    assert.equal(await archFile('b1-amd64'), 'x86_64 linux/amd64');
    if (!crossProblem) assert.equal(await archFile('b1-arm64'), 'aarch64 linux/arm64/v8');
    const list = JSON.parse(await (await req(srv.url, '/v2/built/manifests/multi', { headers: { Accept: ALL_MANIFEST_TYPES } })).text()) as { manifests: { platform: { architecture: string } }[] };
    assert.deepEqual(list.manifests.map((m) => m.platform.architecture).sort(), archs);
  });

  test('cross-architecture RUN through qemu-user-static', { skip: missing.join('; ') || crossProblem || false }, async () => {
    // Covered by the build above when binfmt has arm64; this records the condition on its own line.
    assert.equal(await archFile('b1-arm64'), 'aarch64 linux/arm64/v8');
  });

  test('an architecture binfmt_misc lacks gets the exact commands that enable it', async () => {
    const problem = await emulationProblem({ os: 'linux', architecture: 's390x' });
    if (problem === undefined) return; // this machine emulates s390x already: nothing to report
    assert.match(problem, /^RUN for s390x needs qemu-s390x-static registered in binfmt_misc, and it is not; as root run: /);
    if (await exists('/usr/lib/binfmt.d/qemu-s390x.conf')) assert.match(problem, /printf '%s\\n' ':qemu-s390x:M::[^']*:\/usr\/bin\/qemu-s390x-static:F' > \/proc\/sys\/fs\/binfmt_misc\/register/);
    assert.equal(await emulationProblem(hostPlatform()), undefined, "this machine's own architecture needs no emulation");
  });
});
