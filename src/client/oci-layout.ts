/**
 * OCI image layout directories (`oci:DIR[:TAG]`) as a source and a sink: `oci-layout`,
 * `index.json` whose entries carry `org.opencontainers.image.ref.name`, and `blobs/<alg>/<hex>`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { digestOf, newHasher, parseDigest } from '../oci/digest.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/manifest.js';
import type { BlobDescriptor, ImageSink, ImageSource, ManifestData, RegistryLocation } from './image.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  [other: string]: unknown;
}

function blobPath(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, 'blobs', algorithm, hex);
}

async function readIndex(dir: string): Promise<LayoutIndex | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const index = JSON.parse(text) as LayoutIndex;
  if (!Array.isArray(index.manifests)) throw new Error(`${dir}/index.json has no manifests array`);
  return index;
}

async function readVerified(dir: string, digest: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(blobPath(dir, digest));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`oci:${dir} lacks blob ${digest}`);
    throw e;
  }
  const algorithm = parseDigest(digest).algorithm;
  if (digestOf(bytes, algorithm) !== digest) throw new Error(`oci:${dir}: blob ${digest} is corrupt (its content hashes differently)`);
  return bytes;
}

function mediaTypeOf(bytes: Buffer, fallback: string | undefined): string {
  const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
  return doc.mediaType ?? fallback ?? (Array.isArray(doc.manifests) ? MediaType.OciIndex : MediaType.OciManifest);
}

export class OciLayoutSource implements ImageSource {
  readonly name: string;
  readonly location?: RegistryLocation = undefined;

  constructor(
    readonly dir: string,
    readonly tag?: string,
  ) {
    this.name = `oci:${dir}${tag ? `:${tag}` : ''}`;
  }

  async root(): Promise<ManifestData> {
    const index = await readIndex(this.dir);
    if (!index) throw new Error(`${this.dir} is not an OCI image layout (no index.json)`);
    let entry: Descriptor | undefined;
    if (this.tag) {
      entry = index.manifests.find((d) => d.annotations?.[REF_NAME] === this.tag);
    } else if (index.manifests.length === 1) {
      entry = index.manifests[0];
    }
    if (!entry) {
      const names = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter(Boolean);
      throw new Error(
        this.tag
          ? `${this.name}: no image tagged "${this.tag}" (tags here: ${names.join(', ') || 'none'})`
          : `oci:${this.dir} holds ${index.manifests.length} images: name one as oci:${this.dir}:TAG (tags: ${names.join(', ') || 'none'})`,
      );
    }
    const bytes = await readVerified(this.dir, entry.digest);
    return { bytes, digest: entry.digest, mediaType: mediaTypeOf(bytes, entry.mediaType) };
  }

  async manifest(digest: string): Promise<ManifestData> {
    const bytes = await readVerified(this.dir, digest);
    return { bytes, digest, mediaType: mediaTypeOf(bytes, undefined) };
  }

  async openBlob(desc: BlobDescriptor, offset: number): Promise<Readable> {
    const path = blobPath(this.dir, desc.digest);
    const size = await stat(path).then(
      (st) => st.size,
      () => {
        throw new Error(`oci:${this.dir} lacks blob ${desc.digest}`);
      },
    );
    if (size !== desc.size) throw new Error(`oci:${this.dir}: blob ${desc.digest} is ${size} bytes, its manifest says ${desc.size}`);
    return createReadStream(path, { start: offset });
  }

  async close(): Promise<void> {}
}

export class OciLayoutSink implements ImageSink {
  readonly name: string;
  readonly acceptsIndex = true;
  readonly location?: RegistryLocation = undefined;
  private rootEntry: Descriptor | undefined;
  private prepared: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly tag?: string,
  ) {
    this.name = `oci:${dir}${tag ? `:${tag}` : ''}`;
  }

  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      await mkdir(join(this.dir, 'blobs'), { recursive: true });
      await writeFile(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    })();
    return this.prepared;
  }

  async hasBlob(desc: BlobDescriptor): Promise<boolean> {
    try {
      return (await stat(blobPath(this.dir, desc.digest))).size === desc.size;
    } catch {
      return false;
    }
  }

  async mountBlob(): Promise<boolean> {
    return false;
  }

  /** Streams into a temp file while hashing; only verified bytes get the blob's name. */
  async putBlob(desc: BlobDescriptor, open: (offset: number) => Promise<AsyncIterable<Uint8Array>>, onBytes: (n: number) => void): Promise<void> {
    await this.prepare();
    const { algorithm } = parseDigest(desc.digest);
    const final = blobPath(this.dir, desc.digest);
    await mkdir(join(this.dir, 'blobs', algorithm), { recursive: true });
    const tmp = join(this.dir, 'blobs', algorithm, `.tmp-${randomBytes(6).toString('hex')}`);
    const hasher = newHasher(algorithm);
    let size = 0;
    try {
      const source = await open(0);
      await pipeline(
        async function* () {
          for await (const chunk of source) {
            hasher.update(chunk);
            size += chunk.byteLength;
            onBytes(chunk.byteLength);
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      const got = `${algorithm}:${hasher.digest('hex')}`;
      if (got !== desc.digest || size !== desc.size) {
        throw new Error(`blob ${desc.digest} arrived as ${got} (${size} bytes, expected ${desc.size}): refusing to store it`);
      }
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async hasManifest(digest: string): Promise<boolean> {
    return stat(blobPath(this.dir, digest)).then(
      () => true,
      () => false,
    );
  }

  async putManifest(m: ManifestData, tag?: string): Promise<string> {
    await this.prepare();
    const path = blobPath(this.dir, m.digest);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, m.bytes);
    if (tag !== undefined) {
      const entry: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
      if (tag) entry.annotations = { [REF_NAME]: tag };
      this.rootEntry = entry;
    }
    return m.digest;
  }

  /** Adds the root to index.json, replacing an entry with the same tag (as `skopeo copy` does). */
  async close(): Promise<void> {
    if (!this.rootEntry) return;
    const index = (await readIndex(this.dir)) ?? { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
    const tag = this.rootEntry.annotations?.[REF_NAME];
    index.manifests = index.manifests.filter((d) =>
      tag ? d.annotations?.[REF_NAME] !== tag : !(d.digest === this.rootEntry!.digest && !d.annotations?.[REF_NAME]),
    );
    index.manifests.push(this.rootEntry);
    const tmp = join(this.dir, `.index.json.${process.pid}`);
    await writeFile(tmp, JSON.stringify(index));
    await rename(tmp, join(this.dir, 'index.json'));
  }

  /** Blobs already written are valid content and harmless; index.json is left as it was. */
  async abort(): Promise<void> {}
}
