import type { Readable } from 'node:stream';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Content-addressed blob storage. Callers pass digests already validated by `oci/digest`, and
 * staging ids they generated themselves; a store never sees user-controlled path segments.
 * Staging areas hold an upload's bytes until `commit` makes them visible under their digest,
 * atomically: a reader sees the whole blob or nothing.
 */
export interface BlobStore {
  /** Size of a committed blob, or undefined. */
  stat(digest: string): Promise<number | undefined>;
  /** Streams `range` of a committed blob (the whole blob is `0` to `size - 1`). */
  read(digest: string, range: ByteRange): Readable;
  delete(digest: string): Promise<void>;
  /** Committed blobs with their last modification time, for garbage collection. */
  list(): AsyncIterable<{ digest: string; modified: Date }>;

  createStaging(id: string): Promise<void>;
  /** Appends a stream to a staging area; resolves with the staging area's new size. */
  appendStaging(id: string, source: AsyncIterable<Uint8Array>): Promise<number>;
  stagingSize(id: string): Promise<number | undefined>;
  /** Cuts a staging area back to `size` bytes (after a failed append). */
  truncateStaging(id: string, size: number): Promise<void>;
  readStaging(id: string): Readable;
  /** Moves a verified staging area into place under `digest`. */
  commitStaging(id: string, digest: string): Promise<void>;
  deleteStaging(id: string): Promise<void>;
  listStaging(): AsyncIterable<{ id: string; modified: Date }>;
}
