import { parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import type { RequestContext } from '../context.js';
import { parseByteRange, sendEmpty } from '../http.js';
import { assertReadable } from '../locks.js';

function blobUnknown(name: string, digest: string): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${name}`, { detail: { digest } });
}

/** GET/HEAD a blob, with single `Range` support. Manifests are also readable as blobs, as in Distribution. */
export async function getBlob(ctx: RequestContext): Promise<void> {
  const { req, res, services: s, name } = ctx;
  const digest = parseDigest(ctx.ref).digest;
  const etag = `"${digest}"`;
  const size = s.meta.repoBlobSize(name, digest);
  const common = { 'Docker-Content-Digest': digest, ETag: etag, 'Accept-Ranges': 'bytes' };

  if (size === undefined) {
    const manifest = s.meta.getManifest(name, digest);
    if (!manifest) throw blobUnknown(name, digest);
    // Served as a blob, a manifest is still pulled: its read lock applies.
    assertReadable(s.meta, name, digest);
    res.writeHead(200, { ...common, 'Content-Type': manifest.mediaType, 'Content-Length': manifest.size });
    res.end(req.method === 'HEAD' ? undefined : manifest.bytes);
    return;
  }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  const range = req.method === 'GET' ? parseByteRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    // No JSON envelope: the spec's error codes have none for this, and HTTP needs only the header.
    sendEmpty(res, 416, { ...common, 'Content-Range': `bytes */${size}` });
    return;
  }
  const status = range ? 206 : 200;
  const headers: Record<string, string | number> = {
    ...common,
    'Content-Type': 'application/octet-stream',
    'Content-Length': range ? range.end - range.start + 1 : size,
  };
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  if (req.method === 'HEAD' || size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }

  const stream = s.blobs.read(digest, range ?? { start: 0, end: size - 1 });
  // Headers wait until the file is open, so a missing file is still a clean 404.
  await new Promise<void>((resolve, reject) => {
    stream.once('ready', resolve);
    stream.once('error', reject);
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') {
      s.log.error({ repo: name, digest }, 'blob linked in metadata but missing from storage');
      throw blobUnknown(name, digest);
    }
    throw e;
  });
  res.writeHead(status, headers);
  stream.pipe(res);
  await new Promise<void>((resolve) => {
    stream.once('error', (e) => {
      s.log.error({ err: e, digest }, 'blob read failed mid-stream');
      res.destroy(e);
      resolve();
    });
    res.once('close', () => {
      stream.destroy();
      resolve();
    });
  });
}

/** DELETE a blob: unlinks it from the repository; the janitor reclaims bytes nothing else needs. */
export async function deleteBlob(ctx: RequestContext): Promise<void> {
  const { res, services: s, name } = ctx;
  const digest = parseDigest(ctx.ref).digest;
  if (!s.meta.unlinkBlob(name, digest)) throw blobUnknown(name, digest);
  s.log.info({ event: 'blob.delete', repo: name, digest }, 'blob deleted');
  sendEmpty(res, 202, { 'Docker-Content-Digest': digest });
}
