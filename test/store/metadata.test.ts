import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteMetadataStore } from '../../src/store/meta/sqlite.js';
import type { BlobStore } from '../../src/store/blobs/types.js';
import { allPages, getJson, setAttributes } from '../helpers/acr.js';
import { sha256 } from '../helpers/images.js';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from '../helpers/mediatypes.js';
import { startTestServer } from '../helpers/server.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'manifold-meta-'));
  dirs.push(d);
  return d;
}
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('a data directory from the previous version', () => {
  test('opens: attributes default to enabled, image sizes are recomputed, and migrating twice changes nothing', async () => {
    const dataDir = await tempDir();
    const db = new Database(join(dataDir, 'metadata.db'));
    db.exec(await readFile(join(import.meta.dirname, '..', 'helpers', 'schema-e8456d6.sql'), 'utf8'));
    // As that version stored them: an image's size counted its manifest bytes, an index its own too.
    const amd = sha256('amd'), arm = sha256('arm'), idx = sha256('index');
    const insert = db.prepare(`INSERT INTO manifests (repo, digest, media_type, config_media_type, size, image_size, os, architecture, bytes, created_at, updated_at)
      VALUES ('old/app', ?, ?, ?, ?, ?, ?, ?, x'7b7d', 1000, 2000)`);
    db.prepare("INSERT INTO repositories VALUES ('old/app', 1000, 2000)").run();
    insert.run(amd, OCI_MANIFEST, OCI_CONFIG, 400, 400 + 100 + 5000, 'linux', 'amd64');
    insert.run(arm, OCI_MANIFEST, OCI_CONFIG, 410, 410 + 120 + 7000, 'linux', 'arm64');
    insert.run(idx, OCI_INDEX, null, 300, 300 + 5500 + 7530, null, null);
    const ref = db.prepare(`INSERT INTO manifest_refs VALUES ('old/app', ?, ?, ?, 'manifest', ?, ?, 'linux', ?, NULL)`);
    ref.run(idx, 0, amd, OCI_MANIFEST, 400, 'amd64');
    ref.run(idx, 1, arm, OCI_MANIFEST, 410, 'arm64');
    db.prepare("INSERT INTO tags VALUES ('old/app', '1.0', ?, 1000, 2000)").run(idx);
    db.close();

    for (const round of [1, 2]) {
      const srv = await startTestServer({ dataDir });
      try {
        const m = await getJson<{ manifest: { imageSize: number; changeableAttributes: Record<string, boolean> } }>(srv.url, `/acr/v1/old/app/_manifests/${idx}`);
        assert.equal(m.status, 200);
        assert.equal(m.body.manifest.imageSize, 5100 + 7120, `round ${round}`);
        const img = await getJson<{ manifest: { imageSize: number } }>(srv.url, `/acr/v1/old/app/_manifests/${amd}`);
        assert.equal(img.body.manifest.imageSize, 5100);
        const tag = await getJson<{ tag: { lastUpdateTime: string; changeableAttributes: Record<string, boolean> } }>(srv.url, '/acr/v1/old/app/_tags/1.0');
        assert.equal(tag.body.tag.lastUpdateTime, new Date(2000).toISOString());
        if (round === 1) {
          assert.deepEqual(tag.body.tag.changeableAttributes, { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true });
          await setAttributes(srv.url, '/acr/v1/old/app/_tags/1.0', { writeEnabled: false });
        } else {
          assert.equal(tag.body.tag.changeableAttributes.writeEnabled, false, 'kept across a restart');
        }
      } finally {
        await srv.stop();
      }
    }
  });
});

describe('listing is served from indexed metadata', () => {
  test('10,000 manifests list in every order without reading a blob or a manifest body', async () => {
    const dataDir = await tempDir();
    const TOTAL = 10_000;
    const store = new SqliteMetadataStore(join(dataDir, 'metadata.db'), { durable: false });
    const digests: string[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const digest = sha256(`manifest ${i}`);
      const isIndex = i % 10 === 9;
      const children = isIndex ? digests.slice(-2) : [];
      digests.push(digest);
      store.putManifest({
        repo: 'big/app',
        digest,
        bytes: Buffer.from(`{"n":${i}}`),
        mediaType: isIndex ? OCI_INDEX : OCI_MANIFEST,
        artifactType: null,
        configMediaType: isIndex ? null : OCI_CONFIG,
        configDigest: isIndex ? null : sha256(`config ${i}`),
        subject: null,
        imageSize: isIndex ? 2000 : 1000,
        os: isIndex ? null : 'linux',
        architecture: isIndex ? null : i % 2 ? 'arm64' : 'amd64',
        variant: null,
        annotations: null,
        references: isIndex
          ? children.map((c, k) => ({ digest: c, kind: 'manifest' as const, mediaType: OCI_MANIFEST, size: 10, os: 'linux', architecture: k ? 'arm64' : 'amd64', variant: null }))
          : [
              { digest: sha256(`config ${i}`), kind: 'blob' as const, mediaType: OCI_CONFIG, size: 100, os: null, architecture: null, variant: null },
              { digest: sha256(`layer ${i}`), kind: 'blob' as const, mediaType: OCI_LAYER_GZIP, size: 900, os: null, architecture: null, variant: null },
            ],
        tag: i % 100 === 0 ? `t${i}` : undefined,
      });
    }
    store.close();

    const srv = await startTestServer({ dataDir, catalogPageSize: 1000 });
    try {
      // Every blob store method and the manifest-bytes lookup now fail loudly, and are counted.
      const touched: string[] = [];
      const blobs = srv.services.blobs as unknown as Record<string, unknown>;
      for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(srv.services.blobs)) as (keyof BlobStore)[]) {
        if (key === ('constructor' as never)) continue;
        blobs[key] = () => {
          touched.push(`blobs.${key}`);
          throw new Error(`blob store used: ${key}`);
        };
      }
      srv.services.meta.getManifest = () => {
        touched.push('meta.getManifest');
        throw new Error('manifest bytes read');
      };
      for (const order of ['', '&orderby=timedesc', '&orderby=timeasc']) {
        const pages = await allPages<{ digest: string; references?: unknown[]; tags: string[] }>(srv.url, `/acr/v1/big/app/_manifests?n=1000${order}`, 'manifests');
        const all = pages.flat();
        assert.equal(pages.length, 10, order);
        assert.equal(new Set(all.map((m) => m.digest)).size, TOTAL, order);
        assert.equal(all.filter((m) => m.references?.length === 2).length, TOTAL / 10);
        assert.equal(all.filter((m) => m.tags.length === 1).length, TOTAL / 100);
      }
      assert.equal((await allPages(srv.url, '/acr/v1/big/app/_tags?orderby=timedesc&n=30', 'tags')).flat().length, TOTAL / 100);
      assert.deepEqual(touched, []);
      // The instrumentation does see a request that needs bytes.
      assert.equal((await fetch(`${srv.url}/v2/big/app/blobs/${digests[0]}`)).status, 500);
      assert.deepEqual(touched, ['meta.getManifest']);
    } finally {
      await srv.stop();
    }
  });
});
