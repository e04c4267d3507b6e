import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, OCTET } from './mediatypes.js';

/** Small real images for tests: gzip'd tar layers, image configs, manifests and indexes. */

export interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
  mediaType: string;
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blob(bytes: Buffer | string, mediaType = OCTET): Blob {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { digest: sha256(b), size: b.length, bytes: b, mediaType };
}

export function descriptor(b: Blob, extra: Record<string, unknown> = {}) {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

/** A tar archive holding the given files, gzip-compressed. */
export async function tarGz(files: Record<string, string | Buffer>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: Buffer) => chunks.push(c));
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const [name, content] of Object.entries(files)) p.entry({ name, mtime: new Date(0) }, content);
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

export interface TestImage {
  format: 'oci' | 'docker';
  platform: { os: string; architecture: string; variant?: string };
  config: Blob;
  layers: Blob[];
  manifest: Blob;
}

/** One single-platform image whose single layer holds `/platform.txt` (plus random bytes, so digests differ per call). */
export async function makeImage(
  platform: { os: string; architecture: string; variant?: string },
  format: 'oci' | 'docker' = 'oci',
  extraFiles: Record<string, string | Buffer> = {},
): Promise<TestImage> {
  const layerType = format === 'oci' ? OCI_LAYER_GZIP : DOCKER_LAYER;
  const configType = format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG;
  const manifestType = format === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
  const tarBytes = await tarGz({ 'platform.txt': JSON.stringify(platform), 'nonce.txt': randomBytes(8).toString('hex'), ...extraFiles });
  const layer = blob(tarBytes, layerType);
  const { gunzipSync } = await import('node:zlib');
  const diffId = sha256(gunzipSync(tarBytes));
  const config = blob(
    JSON.stringify({
      created: '2026-01-01T00:00:00Z',
      ...platform,
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'manifold test' }],
    }),
    configType,
  );
  const manifest = blob(
    JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config: descriptor(config), layers: [descriptor(layer)] }),
    manifestType,
  );
  return { format, platform, config, layers: [layer], manifest };
}

/** An index (OCI) or manifest list (Docker) over images. */
export function makeIndex(images: TestImage[], format: 'oci' | 'docker' = 'oci', extra: Record<string, unknown> = {}): Blob {
  const mediaType = format === 'oci' ? OCI_INDEX : DOCKER_LIST;
  return blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map((i) => descriptor(i.manifest, { platform: i.platform })),
      ...extra,
    }),
    mediaType,
  );
}

/**
 * Writes an OCI image layout directory holding the images (and the index, if given), with
 * `tag` on the index or, without one, on the first image.
 */
export async function writeOciLayout(dir: string, images: TestImage[], index: Blob | undefined, tag: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Blob) => writeFile(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
  for (const img of images) {
    await Promise.all([put(img.config), put(img.manifest), ...img.layers.map(put)]);
  }
  if (index) await put(index);
  const top = index ?? images[0]!.manifest;
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [descriptor(top, { annotations: { 'org.opencontainers.image.ref.name': tag } })],
    }),
  );
}

/**
 * An OCI index over images plus, for each, a BuildKit-style attestation manifest: platform
 * `unknown/unknown` and the `vnd.docker.reference.*` annotations naming the image it describes.
 */
export async function makeAttestedIndex(images: TestImage[]): Promise<{ index: Blob; attestations: TestImage[] }> {
  const attestations = await Promise.all(images.map(() => makeImage({ os: 'unknown', architecture: 'unknown' })));
  const index = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        ...images.map((i) => descriptor(i.manifest, { platform: i.platform })),
        ...attestations.map((a, n) =>
          descriptor(a.manifest, {
            platform: a.platform,
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': images[n]!.manifest.digest },
          }),
        ),
      ],
    }),
    OCI_INDEX,
  );
  return { index, attestations };
}

/** A Notary-style signature artifact whose subject is `subject`, with the blobs it needs. */
export function makeSignature(subject: Blob): { blobs: Blob[]; manifest: Blob } {
  const config = blob('{}', OCI_EMPTY);
  const payload = blob(`signature of ${subject.digest}`, 'application/jose+json');
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.cncf.notary.signature',
      config: descriptor(config),
      layers: [descriptor(payload)],
      subject: descriptor(subject),
    }),
    OCI_MANIFEST,
  );
  return { blobs: [config, payload], manifest };
}
