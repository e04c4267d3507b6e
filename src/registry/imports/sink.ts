/**
 * A repository of this registry as an image sink, for server-side imports: blobs stream from the
 * source straight into the blob store (verified, as an upload is), manifests go through the same
 * validation as a push, and locks hold as they do for pushes.
 */
import { Readable } from 'node:stream';
import type { BlobDescriptor, ImageSink, ManifestData } from '../../client/image.js';
import { counted } from '../../client/registry-client.js';
import { RegistryError } from '../../oci/errors.js';
import type { RegistryServices } from '../context.js';
import { assertRepository } from '../locks.js';
import { storeManifest } from '../v2/manifests.js';

export class RegistrySink implements ImageSink {
  readonly name: string;
  readonly acceptsIndex = true;
  readonly location = undefined;

  constructor(
    private readonly s: RegistryServices,
    readonly repository: string,
    /** Repositories whose blobs may be linked instead of downloaded (ones the caller may read). */
    private readonly mayLinkFrom: (repository: string) => boolean,
  ) {
    this.name = repository;
  }

  async hasBlob(desc: BlobDescriptor): Promise<boolean> {
    return this.s.meta.repoBlobSize(this.repository, desc.digest) === desc.size && (await this.s.blobs.stat(desc.digest)) === desc.size;
  }

  /**
   * Links a blob the registry already holds, without downloading it again, but only from a
   * repository the caller may read: a source manifest naming a digest proves nothing about who
   * may have its bytes.
   */
  async mountBlob(desc: BlobDescriptor): Promise<boolean> {
    const holder = this.s.meta.blobHolders(desc.digest, 1000).find((h) => h.size === desc.size && this.mayLinkFrom(h.repo));
    if (!holder || (await this.s.blobs.stat(desc.digest)) !== desc.size) return false;
    assertRepository(this.s.meta, this.repository, 'write');
    this.s.meta.linkBlob(this.repository, desc.digest, desc.size);
    return true;
  }

  async putBlob(desc: BlobDescriptor, open: (offset: number) => Promise<AsyncIterable<Uint8Array>>, onBytes: (n: number) => void): Promise<void> {
    assertRepository(this.s.meta, this.repository, 'write');
    try {
      const { size } = await this.s.uploads.monolithic(this.repository, desc.digest, Readable.from(counted(await open(0), onBytes)), desc.size);
      if (size !== desc.size) throw new Error(`blob ${desc.digest} is ${size} bytes, the manifest says ${desc.size}`);
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'DIGEST_INVALID') {
        throw new Error(`blob ${desc.digest} from the source does not match its digest: import aborted (${e.message})`);
      }
      throw e;
    }
  }

  async hasManifest(digest: string): Promise<boolean> {
    return this.s.meta.getManifest(this.repository, digest) !== undefined;
  }

  /** Stores by digest only, the root too: tags are set by the job once every target is complete. */
  async putManifest(m: ManifestData): Promise<string> {
    return (await storeManifest(this.s, this.repository, m.digest, m.bytes, m.mediaType)).digest;
  }

  async close(): Promise<void> {}

  async abort(): Promise<void> {}
}
