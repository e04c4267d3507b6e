/** A registry repository as an image source and as a sink. */
import type { Readable } from 'node:stream';
import { manifestReference, type ImageReference } from '../oci/reference.js';
import type { BlobDescriptor, ImageSink, ImageSource, ManifestData, RegistryLocation } from './image.js';
import type { RegistryClient } from './registry-client.js';

export class RemoteSource implements ImageSource {
  readonly name: string;
  readonly location: RegistryLocation;

  constructor(
    readonly client: RegistryClient,
    readonly ref: ImageReference,
  ) {
    this.location = { registry: ref.registry, repository: ref.repository };
    this.name = `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  }

  root(): Promise<ManifestData> {
    return this.client.getManifest(this.ref.repository, manifestReference(this.ref));
  }

  manifest(digest: string): Promise<ManifestData> {
    return this.client.getManifest(this.ref.repository, digest);
  }

  openBlob(desc: BlobDescriptor, offset: number): Promise<Readable> {
    return this.client.getBlob(this.ref.repository, desc.digest, offset);
  }

  async close(): Promise<void> {}
}

export class RemoteSink implements ImageSink {
  readonly name: string;
  readonly acceptsIndex = true;
  readonly location: RegistryLocation;

  constructor(
    readonly client: RegistryClient,
    readonly ref: ImageReference,
  ) {
    this.location = { registry: ref.registry, repository: ref.repository };
    this.name = `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}`;
  }

  hasBlob(desc: BlobDescriptor): Promise<boolean> {
    return this.client.hasBlob(this.ref.repository, desc.digest);
  }

  /** Mounts only within one registry, and never from the repository itself. */
  async mountBlob(desc: BlobDescriptor, from: RegistryLocation): Promise<boolean> {
    if (from.registry !== this.ref.registry || from.repository === this.ref.repository) return false;
    return this.client.mountBlob(this.ref.repository, desc.digest, from.repository);
  }

  async putBlob(desc: BlobDescriptor, open: (offset: number) => Promise<AsyncIterable<Uint8Array>>, onBytes: (n: number) => void): Promise<void> {
    await this.client.uploadBlob(this.ref.repository, desc, open, onBytes);
  }

  hasManifest(digest: string): Promise<boolean> {
    return this.client.manifestExists(this.ref.repository, digest);
  }

  putManifest(m: ManifestData, tag?: string): Promise<string> {
    return this.client.putManifest(this.ref.repository, tag || m.digest, m);
  }

  async close(): Promise<void> {}

  async abort(): Promise<void> {}
}
