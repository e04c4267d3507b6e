import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { makeImage, type TestImage } from '../helpers/images.js';
import { req } from '../helpers/http.js';
import { skopeo } from '../helpers/tools.js';
import { writeDirLayout } from './dir-layout.js';
import { DOCKER_LIST } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);

/**
 * The source page's flow with the real docker CLI (client only: `docker manifest` needs no daemon):
 * create a list from per-architecture images, annotate, push with --purge, inspect. The list's
 * repository differs from the images', so `docker manifest push` mounts blobs across repositories
 * without asking first and PUTs the children by digest.
 */
describe('docker manifest against Manifold', () => {
  let srv: TestServer;
  let dockerConfig: string;
  const images: Record<string, TestImage> = {};
  const docker = async (...args: string[]) => {
    try {
      return (await run('docker', args, { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, timeout: 60_000 })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`docker ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
    }
  };

  before(async () => {
    srv = await startTestServer();
    dockerConfig = await mkdtemp(join(tmpdir(), 'manifold-docker-'));
    await writeFile(join(dockerConfig, 'config.json'), '{}');
    // Tiny per-architecture images, pushed by the real skopeo from dir: layouts the test writes.
    const platforms = { amd64: { architecture: 'amd64' }, arm64: { architecture: 'arm64' }, armv7: { architecture: 'arm', variant: 'v7' } };
    for (const [tag, p] of Object.entries(platforms)) {
      images[tag] = await makeImage({ os: 'linux', ...p }, 'docker');
      const dir = join(dockerConfig, `layout-${tag}`);
      await writeDirLayout(dir, [images[tag]!]);
      await skopeo(['copy', `dir:${dir}`, `docker://${srv.host}/multi-arch-samples/myimage:${tag}`]);
    }
  });
  after(async () => {
    await srv.stop();
    await rm(dockerConfig, { recursive: true, force: true });
  });

  for (const listRepo of ['multi-arch-samples/myimage', 'published/myimage']) {
    test(`create, annotate, push --purge, inspect (list in ${listRepo})`, async () => {
      const list = `${srv.host}/${listRepo}:multi`;
      const src = `${srv.host}/multi-arch-samples/myimage`;
      await docker('manifest', 'create', '--insecure', list, `${src}:arm64`, `${src}:amd64`, `${src}:armv7`);
      await docker('manifest', 'annotate', list, `${src}:arm64`, '--variant', 'v8');
      const pushed = await docker('manifest', 'push', '--insecure', '--purge', list);
      const digest = /sha256:[a-f0-9]{64}\s*$/.exec(pushed.trim())?.[0];
      assert.ok(digest, `no digest in: ${pushed}`);

      const res = await req(srv.url, `/v2/${listRepo}/manifests/multi`, { headers: { Accept: DOCKER_LIST } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), DOCKER_LIST);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      const stored = (await res.json()) as { manifests: { digest: string; platform: { architecture: string; variant?: string } }[] };
      const platforms = stored.manifests.map((m) => `${m.platform.architecture}${m.platform.variant ? '/' + m.platform.variant : ''}`).sort();
      assert.deepEqual(platforms, ['amd64', 'arm/v7', 'arm64/v8']);
      for (const m of stored.manifests) {
        assert.equal((await req(srv.url, `/v2/${listRepo}/manifests/${m.digest}`, { method: 'HEAD' })).status, 200);
      }

      const inspected = JSON.parse(await docker('manifest', 'inspect', '--insecure', list)) as { manifests: unknown[] };
      assert.equal(inspected.manifests.length, 3);
      const verboseList = JSON.parse(await docker('manifest', 'inspect', '--insecure', '-v', list)) as { Descriptor: { digest: string; platform: { architecture: string } } }[];
      assert.deepEqual(verboseList.map((v) => v.Descriptor.platform.architecture).sort(), ['amd64', 'arm', 'arm64']);
      assert.equal(verboseList.find((v) => v.Descriptor.platform.architecture === 'arm')?.Descriptor.digest, images.armv7!.manifest.digest);
      const verbose = JSON.parse(await docker('manifest', 'inspect', '--insecure', '-v', `${src}:amd64`)) as { Descriptor: { digest: string } };
      assert.equal(verbose.Descriptor.digest, images.amd64!.manifest.digest);
    });
  }
});
