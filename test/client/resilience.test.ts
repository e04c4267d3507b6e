import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cli } from '../helpers/cli.js';
import { req } from '../helpers/http.js';
import { blob, descriptor, writeOciLayout, type TestImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { FaultyProxy } from '../helpers/faulty-proxy.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A real HTTP proxy in front of a real server that injects the failures a client meets in the
 * field: a connection cut mid-upload, 503s and 500s. The client must resume, retry and succeed.
 */
describe('client resilience through a faulty proxy', () => {
  let srv: TestServer;
  let proxy: FaultyProxy;
  let proxyHost: string;
  let cli: Cli;

  before(async () => {
    srv = await startTestServer();
    cli = await Cli.create();
    proxy = await FaultyProxy.start(srv.url);
    proxyHost = proxy.host;
  });
  after(async () => {
    await proxy.stop();
    await srv.stop();
    await cli.dispose();
  });

  /** An image with one incompressible 400 KiB layer, in an OCI layout. */
  async function bigImage(tag: string): Promise<{ dir: string; image: TestImage }> {
    const layer = blob(randomBytes(400 * 1024), OCI_LAYER_GZIP);
    const config = blob(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } }), OCI_CONFIG);
    const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(config), layers: [descriptor(layer)] }), OCI_MANIFEST);
    const image: TestImage = { format: 'oci', platform: { os: 'linux', architecture: 'amd64' }, config, layers: [layer], manifest };
    const dir = join(cli.home, tag);
    await writeOciLayout(dir, [image], undefined, tag);
    return { dir, image };
  }

  test('a chunked upload cut mid-chunk resumes from the offset the registry reports', async () => {
    const { dir, image } = await bigImage('resume');
    proxy.seen.length = 0;
    let patches = 0;
    proxy.faults = [{ match: (m) => m === 'PATCH' && ++patches === 3, action: 'cut-request' }];
    const r = await cli.ok(['push', '--chunk-size', '65536', `oci:${dir}:resume`, `${proxyHost}/big:resume`]);
    assert.equal(r.stdout.trim(), image.manifest.digest);

    const layerPatches = proxy.seen.filter((s) => s.method === 'PATCH');
    const cut = layerPatches.findIndex((s) => s.status === 'cut');
    assert.ok(cut >= 0, 'the fault was injected');
    const cutRange = layerPatches[cut]!.range!;
    // the client asked where the session stood, then re-sent that chunk, not the whole blob
    const after = proxy.seen.slice(proxy.seen.indexOf(layerPatches[cut]!) + 1);
    assert.equal(after[0]!.method, 'GET', 'upload status asked after the cut');
    assert.equal(layerPatches[cut + 1]!.range, cutRange, 'resumed at the start of the chunk that was cut');
    assert.notEqual(cutRange.split('-')[0], '0');
    assert.equal(layerPatches.filter((s) => s.range?.startsWith('0-')).length, 1, 'never restarted from zero');

    const res = await req(srv.url, `/v2/big/blobs/${image.layers[0]!.digest}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(image.layers[0]!.bytes));
  });

  test('503 and 500 answers are retried with backoff; reads retry too', async () => {
    const { dir, image } = await bigImage('retry');
    proxy.seen.length = 0;
    proxy.faults = [
      { match: (m, p) => m === 'HEAD' && p.includes('/blobs/'), action: 503 },
      { match: (m, p) => m === 'PUT' && p.includes('/manifests/'), action: 500 },
    ];
    const r = await cli.ok(['push', `oci:${dir}:retry`, `${proxyHost}/big:retry`]);
    assert.equal(r.stdout.trim(), image.manifest.digest);
    assert.ok(proxy.seen.some((s) => s.status === 503) && proxy.seen.some((s) => s.status === 500), 'both faults were injected');

    proxy.faults = [{ match: (m, p) => m === 'GET' && p.includes('/blobs/'), action: 503 }];
    const pulled = await cli.ok(['pull', `${proxyHost}/big:retry`, `oci:${join(cli.home, 'pulled')}:x`]);
    assert.equal(pulled.stdout.trim(), image.manifest.digest);
    const head = await req(srv.url, '/v2/big/manifests/retry', { method: 'HEAD', headers: { Accept: ALL_MANIFEST_TYPES } });
    assert.equal(head.status, 200);
  });

  test('a registry that keeps failing gives up with one clear line', async () => {
    const { dir } = await bigImage('down');
    proxy.faults = Array.from({ length: 10 }, () => ({ match: (m: string, p: string) => m === 'PUT' && p.includes('/manifests/'), action: 503 as const }));
    const err = await cli.fails(['push', `oci:${dir}:down`, `${proxyHost}/big:down`]);
    assert.match(err, /PUT \/v2\/big\/manifests\/down: 503 UNKNOWN: injected fault/);
    proxy.faults = [];
  });
});
