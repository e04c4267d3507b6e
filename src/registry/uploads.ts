import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { newHasher, parseDigest, type ParsedDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { BlobStore } from '../store/blobs/types.js';
import type { MetadataStore, UploadRecord } from '../store/meta/types.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Running sha256 of a session's staging bytes, valid while `offset` equals the staged size. */
interface HashState {
  hash: Hash;
  offset: number;
}

export interface AppendOptions {
  /** `Content-Range: start-end` of the request, if any. */
  contentRange?: string;
  /** Declared `Content-Length`, if any. */
  contentLength?: number;
}

/**
 * Blob upload sessions: bytes stream through the hash into a staging area in one pass, the digest
 * is verified, then the staging area is committed under its digest and linked to the repository.
 * Hash state lives in memory; after a restart, or a failed append, it is rebuilt from the staging
 * bytes, so sessions survive both.
 */
export class UploadService {
  private readonly hashes = new Map<string, HashState>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
  ) {}

  async start(repo: string): Promise<UploadRecord> {
    const id = randomUUID();
    await this.blobs.createStaging(id);
    this.hashes.set(id, { hash: newHasher(), offset: 0 });
    return this.meta.createUpload(id, repo);
  }

  /** The session and its staged size; 404 BLOB_UPLOAD_UNKNOWN if it is not this repository's. */
  async status(repo: string, id: string): Promise<{ upload: UploadRecord; size: number }> {
    const upload = UUID_RE.test(id) ? this.meta.getUpload(id) : undefined;
    const size = upload && upload.repo === repo ? await this.blobs.stagingSize(id) : undefined;
    if (!upload || size === undefined) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id.slice(0, 80)} is unknown to ${repo}`);
    }
    return { upload, size };
  }

  /** Appends a request body to a session (PATCH, or the body of the closing PUT). Returns the new size. */
  async append(repo: string, id: string, body: Readable, opts: AppendOptions): Promise<number> {
    return this.exclusive(id, async () => {
      const { size } = await this.status(repo, id);
      return this.appendLocked(id, size, body, opts);
    });
  }

  /** Closes a session: appends the optional final chunk, verifies `digest`, commits and links the blob. */
  async finish(repo: string, id: string, digestParam: string | null, body: Readable, opts: AppendOptions): Promise<{ digest: string; size: number }> {
    return this.exclusive(id, async () => {
      const staged = await this.status(repo, id);
      const digest = this.requireDigest(digestParam);
      // The closing PUT may carry the last chunk; an empty body appends nothing.
      const size = await this.appendLocked(id, staged.size, body, opts);
      try {
        await this.commit(repo, id, digest, size);
      } finally {
        this.meta.deleteUpload(id);
        this.hashes.delete(id);
        await this.blobs.deleteStaging(id);
      }
      return { digest: digest.digest, size };
    });
  }

  async cancel(repo: string, id: string): Promise<void> {
    return this.exclusive(id, async () => {
      await this.status(repo, id);
      this.meta.deleteUpload(id);
      this.hashes.delete(id);
      await this.blobs.deleteStaging(id);
    });
  }

  /** A whole blob in one request (`POST ?digest=`), without a session row. */
  async monolithic(repo: string, digestParam: string, body: Readable, contentLength?: number): Promise<{ digest: string; size: number }> {
    const digest = this.requireDigest(digestParam);
    const id = randomUUID();
    await this.blobs.createStaging(id);
    this.hashes.set(id, { hash: newHasher(), offset: 0 });
    try {
      const size = await this.appendLocked(id, 0, body, { contentLength });
      await this.commit(repo, id, digest, size);
      return { digest: digest.digest, size };
    } finally {
      this.hashes.delete(id);
      await this.blobs.deleteStaging(id);
    }
  }

  /** Purges sessions idle since before `cutoff`, and staging files no session owns. */
  async purge(cutoff: number): Promise<number> {
    let purged = 0;
    for (const u of this.meta.uploadsOlderThan(cutoff)) {
      if (this.busy.has(u.id)) continue;
      this.meta.deleteUpload(u.id);
      this.hashes.delete(u.id);
      await this.blobs.deleteStaging(u.id);
      purged++;
    }
    for await (const s of this.blobs.listStaging()) {
      if (s.modified.getTime() < cutoff && !this.busy.has(s.id) && !this.meta.getUpload(s.id)) {
        await this.blobs.deleteStaging(s.id);
        purged++;
      }
    }
    return purged;
  }

  private requireDigest(value: string | null): ParsedDigest {
    if (!value) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
    return parseDigest(value);
  }

  private async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload ${id} is busy with another request`);
    }
    this.busy.add(id);
    try {
      return await fn();
    } finally {
      this.busy.delete(id);
    }
  }

  private async appendLocked(id: string, size: number, body: Readable, opts: AppendOptions): Promise<number> {
    // A chunk that does not continue the upload: 416 with the Range the client must resume from.
    const outOfRange = (message: string) =>
      new RegistryError('BLOB_UPLOAD_INVALID', message, { status: 416, headers: { Range: `0-${Math.max(size - 1, 0)}` } });
    let expected: number | undefined = opts.contentLength;
    if (opts.contentRange !== undefined) {
      const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(opts.contentRange.trim());
      if (!m) throw outOfRange(`malformed Content-Range ${JSON.stringify(opts.contentRange)}`);
      const start = Number(m[1]);
      const end = Number(m[2]);
      if (start !== size || end < start) {
        throw outOfRange(`chunk ${start}-${end} does not continue the upload at offset ${size}`);
      }
      const length = end - start + 1;
      if (expected !== undefined && expected !== length) {
        throw outOfRange(`Content-Range covers ${length} bytes but Content-Length is ${expected}`);
      }
      expected = length;
    }

    const state = await this.hashAt(id, size);
    let received = 0;
    const hashing = async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        received += chunk.length;
        state.hash.update(chunk);
        yield chunk;
      }
    };
    try {
      const newSize = await this.blobs.appendStaging(id, hashing(body));
      if (expected !== undefined && received !== expected) {
        throw new RegistryError('SIZE_INVALID', `received ${received} bytes, expected ${expected}`);
      }
      state.offset = newSize;
      this.meta.touchUpload(id);
      return newSize;
    } catch (e) {
      // Undo the partial append; the hash has seen those bytes, so it is rebuilt on next use.
      this.hashes.delete(id);
      await this.blobs.truncateStaging(id, size).catch(() => undefined);
      if (e instanceof RegistryError) throw e;
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload interrupted: ${(e as Error).message}`);
    }
  }

  /** The session's running hash, rebuilt from the staging bytes when it is missing or stale. */
  private async hashAt(id: string, size: number): Promise<HashState> {
    const current = this.hashes.get(id);
    if (current && current.offset === size) return current;
    const hash = newHasher();
    let offset = 0;
    for await (const chunk of this.blobs.readStaging(id) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      offset += chunk.length;
    }
    const state = { hash, offset };
    this.hashes.set(id, state);
    return state;
  }

  private async commit(repo: string, id: string, digest: ParsedDigest, size: number): Promise<void> {
    let actual: string;
    if (digest.algorithm === 'sha256') {
      actual = `sha256:${(await this.hashAt(id, size)).hash.digest('hex')}`;
      this.hashes.delete(id);
    } else {
      const hash = newHasher(digest.algorithm);
      for await (const chunk of this.blobs.readStaging(id) as AsyncIterable<Buffer>) hash.update(chunk);
      actual = `${digest.algorithm}:${hash.digest('hex')}`;
    }
    if (actual !== digest.digest) {
      throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${digest.digest}`, {
        detail: { expected: digest.digest, actual },
      });
    }
    await this.blobs.commitStaging(id, digest.digest);
    this.meta.linkBlob(repo, digest.digest, size);
  }
}
