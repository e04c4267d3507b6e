import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, ByteRange } from './types.js';

const IO_CHUNK = 1024 * 1024;

/** A file's size, or undefined when it does not exist. */
async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Blobs as files: `blobs/<alg>/<first two hex>/<hex>`, staging files in `uploads/<id>`.
 * Both live under one root so that commit is a rename within a filesystem.
 */
export class FilesystemBlobStore implements BlobStore {
  private readonly blobRoot: string;
  private readonly stagingRoot: string;

  constructor(
    root: string,
    private readonly opts: { fsync: boolean } = { fsync: true },
  ) {
    this.blobRoot = join(root, 'blobs');
    this.stagingRoot = join(root, 'uploads');
  }

  async init(): Promise<void> {
    await mkdir(this.blobRoot, { recursive: true });
    await mkdir(this.stagingRoot, { recursive: true });
  }

  private blobPath(digest: string): string {
    const [alg, hex] = digest.split(':') as [string, string];
    return join(this.blobRoot, alg, hex.slice(0, 2), hex);
  }

  private stagingPath(id: string): string {
    if (!/^[A-Za-z0-9-]+$/.test(id)) throw new Error(`invalid staging id ${id}`);
    return join(this.stagingRoot, id);
  }

  async stat(digest: string): Promise<number | undefined> {
    return fileSize(this.blobPath(digest));
  }

  read(digest: string, range: ByteRange): Readable {
    // A read buffer no larger than the range: small blobs must not allocate IO_CHUNK per request.
    const highWaterMark = Math.max(1, Math.min(IO_CHUNK, range.end - range.start + 1));
    return createReadStream(this.blobPath(digest), { highWaterMark, start: range.start, end: range.end });
  }

  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async *list(): AsyncIterable<{ digest: string; modified: Date }> {
    for (const alg of await readdir(this.blobRoot).catch(() => [] as string[])) {
      for (const prefix of await readdir(join(this.blobRoot, alg)).catch(() => [] as string[])) {
        for (const hex of await readdir(join(this.blobRoot, alg, prefix)).catch(() => [] as string[])) {
          const s = await stat(join(this.blobRoot, alg, prefix, hex)).catch(() => undefined);
          if (s?.isFile()) yield { digest: `${alg}:${hex}`, modified: s.mtime };
        }
      }
    }
  }

  async createStaging(id: string): Promise<void> {
    const fh = await open(this.stagingPath(id), 'wx');
    await fh.close();
  }

  async appendStaging(id: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    const path = this.stagingPath(id);
    const out = createWriteStream(path, { flags: 'a', highWaterMark: IO_CHUNK });
    await pipeline(source, out);
    return (await stat(path)).size;
  }

  async stagingSize(id: string): Promise<number | undefined> {
    return fileSize(this.stagingPath(id));
  }

  async truncateStaging(id: string, size: number): Promise<void> {
    await truncate(this.stagingPath(id), size);
  }

  readStaging(id: string): Readable {
    return createReadStream(this.stagingPath(id), { highWaterMark: IO_CHUNK });
  }

  async commitStaging(id: string, digest: string): Promise<void> {
    const from = this.stagingPath(id);
    const to = this.blobPath(digest);
    if (this.opts.fsync) {
      // The bytes must be on disk before the name that makes them visible is.
      const fh = await open(from, 'r+');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    }
    await mkdir(join(to, '..'), { recursive: true });
    // Same content under the same name: a concurrent upload of this blob may have won the rename;
    // renaming over it is atomic and harmless.
    await rename(from, to);
  }

  async deleteStaging(id: string): Promise<void> {
    await unlink(this.stagingPath(id)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  async *listStaging(): AsyncIterable<{ id: string; modified: Date }> {
    for (const id of await readdir(this.stagingRoot).catch(() => [] as string[])) {
      const s = await stat(join(this.stagingRoot, id)).catch(() => undefined);
      if (s?.isFile()) yield { id, modified: s.mtime };
    }
  }
}
