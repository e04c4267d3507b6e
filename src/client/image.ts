/**
 * The image abstraction every mover shares (push, pull, copy, and later import and the task
 * runner): a source yields a root manifest, further manifests and blobs; a sink takes them.
 * Sources and sinks are interchangeable: a registry repository, an OCI layout directory, a
 * `docker save` archive.
 */
import type { Readable } from 'node:stream';
import type { ManifestData } from './registry-client.js';

export type { ManifestData };

export interface BlobDescriptor {
  digest: string;
  size: number;
  mediaType: string;
}

/** Where a registry-backed source or sink lives (used to decide cross-repository mounts). */
export interface RegistryLocation {
  registry: string;
  repository: string;
}

export interface ImageSource {
  /** How to name this source in messages. */
  readonly name: string;
  readonly location?: RegistryLocation;
  /** The manifest or index the source names. */
  root(): Promise<ManifestData>;
  /** A manifest the root refers to, by digest. */
  manifest(digest: string): Promise<ManifestData>;
  /** A blob's bytes from `offset` on. */
  openBlob(desc: BlobDescriptor, offset: number): Promise<Readable>;
  close(): Promise<void>;
}

export interface ImageSink {
  readonly name: string;
  readonly location?: RegistryLocation;
  /** False for sinks that hold a single image (a docker archive). */
  readonly acceptsIndex: boolean;
  hasBlob(desc: BlobDescriptor): Promise<boolean>;
  /** Obtains a blob without transferring it (a cross-repository mount); false when not possible. */
  mountBlob(desc: BlobDescriptor, from: RegistryLocation): Promise<boolean>;
  putBlob(desc: BlobDescriptor, open: (offset: number) => Promise<AsyncIterable<Uint8Array>>, onBytes: (n: number) => void): Promise<void>;
  hasManifest(digest: string): Promise<boolean>;
  /**
   * Stores a manifest. `tag` is given only for the root: the tag to set, or '' for an untagged
   * root. Returns the digest it was stored under.
   */
  putManifest(m: ManifestData, tag?: string): Promise<string>;
  /** Finishes the sink's work (writes index.json or the archive's trailer) after a copy succeeded. */
  close(): Promise<void>;
  /** Cleans up after a failed copy, leaving nothing half-written. */
  abort(): Promise<void>;
}
