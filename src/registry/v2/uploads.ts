import { isDigest } from '../../oci/digest.js';
import { isValidRepositoryName } from '../../oci/names.js';
import { assertRepository } from '../locks.js';
import type { RequestContext } from '../context.js';
import { sendEmpty } from '../http.js';
import type { AppendOptions } from '../uploads.js';

function uploadHeaders(name: string, id: string, size: number): Record<string, string | number> {
  return {
    Location: `/v2/${name}/blobs/uploads/${id}`,
    Range: `0-${Math.max(size - 1, 0)}`,
    'Docker-Upload-UUID': id,
  };
}

function blobCreated(ctx: RequestContext, digest: string): void {
  sendEmpty(ctx.res, 201, { Location: `/v2/${ctx.name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

function appendOptions(ctx: RequestContext): AppendOptions {
  const h = ctx.req.headers;
  const length = h['content-length'] !== undefined ? Number(h['content-length']) : undefined;
  return {
    contentRange: h['content-range'],
    contentLength: Number.isFinite(length) ? length : undefined,
  };
}

/** The caller may pull from `repo`, and the repository is not read-locked. */
function mayMountFrom(ctx: RequestContext, repo: string): boolean {
  if (!ctx.services.access.can(ctx.caller, repo, 'content/read')) return false;
  try {
    assertRepository(ctx.services.meta, repo, 'read');
    return true;
  } catch {
    return false;
  }
}

/** POST /blobs/uploads/: a session, a monolithic upload (`?digest=`) or a mount (`?mount=&from=`). */
export async function startUpload(ctx: RequestContext): Promise<void> {
  const { url, services: s, name } = ctx;
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null && isDigest(mount)) {
    // Mount from the named repository, or, with no `from`, from wherever the registry holds it;
    // only from a repository the caller may pull from. Otherwise this is an ordinary upload (202),
    // which tells the caller nothing about whether the blob exists there.
    const size =
      from !== null
        ? isValidRepositoryName(from) && mayMountFrom(ctx, from)
          ? s.meta.repoBlobSize(from, mount)
          : undefined
        : s.config.autoMount
          ? s.meta.blobHolders(mount, 1000).find((h) => mayMountFrom(ctx, h.repo))?.size
          : undefined;
    if (size !== undefined && (await s.blobs.stat(mount)) === size) {
      s.meta.linkBlob(name, mount, size);
      blobCreated(ctx, mount);
      return;
    }
  }
  const digest = url.searchParams.get('digest');
  if (digest !== null && mount === null) {
    const done = await s.uploads.monolithic(name, digest, ctx.req, appendOptions(ctx).contentLength);
    blobCreated(ctx, done.digest);
    return;
  }
  const upload = await s.uploads.start(name);
  const headers = uploadHeaders(name, upload.id, 0);
  if (s.config.chunkMinLength > 0) headers['OCI-Chunk-Min-Length'] = s.config.chunkMinLength;
  sendEmpty(ctx.res, 202, headers);
}

/** GET: where an upload stands (204 with `Range`). */
export async function uploadStatus(ctx: RequestContext): Promise<void> {
  const { size } = await ctx.services.uploads.status(ctx.name, ctx.ref);
  sendEmpty(ctx.res, 204, uploadHeaders(ctx.name, ctx.ref, size));
}

/** PATCH: one chunk (with `Content-Range`) or a stream (without). */
export async function patchUpload(ctx: RequestContext): Promise<void> {
  const size = await ctx.services.uploads.append(ctx.name, ctx.ref, ctx.req, appendOptions(ctx));
  sendEmpty(ctx.res, 202, uploadHeaders(ctx.name, ctx.ref, size));
}

/** PUT ?digest=: the optional last chunk, then verify and commit. */
export async function finishUpload(ctx: RequestContext): Promise<void> {
  const done = await ctx.services.uploads.finish(ctx.name, ctx.ref, ctx.url.searchParams.get('digest'), ctx.req, appendOptions(ctx));
  ctx.services.log.info({ event: 'blob.push', repo: ctx.name, digest: done.digest, size: done.size }, 'blob pushed');
  blobCreated(ctx, done.digest);
}

export async function cancelUpload(ctx: RequestContext): Promise<void> {
  await ctx.services.uploads.cancel(ctx.name, ctx.ref);
  sendEmpty(ctx.res, 204);
}
