import { parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { MediaType } from '../../oci/mediatypes.js';
import type { Caller } from '../auth/access.js';
import type { RegistryServices, RequestContext } from '../context.js';
import { pageOf, sendJson } from '../http.js';

const same = (s: string) => s;

export function nameUnknown(name: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', `repository ${name} is not known to this registry`, { detail: { name } });
}

export async function listTags(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  if (!s.meta.repositoryExists(name)) throw nameUnknown(name);
  const path = `/v2/${name}/tags/list`;
  const { items, link } = pageOf(ctx.url, path, undefined, (after, limit) => s.meta.listTags(name, after, limit), same);
  sendJson(ctx.res, 200, { name, tags: items }, link ? { Link: link } : {});
}

/** The repositories whose listEnabled is true; `/acr/v1/_catalog` answers the same at its own path. */
export async function catalog(url: URL, s: RegistryServices, caller: Caller, path = '/v2/_catalog'): Promise<{ body: unknown; headers: Record<string, string> }> {
  const { items, link } = pageOf(url, path, s.config.catalogPageSize, (after, limit) => visibleRepositories(s, caller, after, limit), same);
  return { body: { repositories: items }, headers: link ? { Link: link } : {} };
}

/** Repositories after `after` that the caller may read, `limit` at most (-1: all), read in batches. */
function visibleRepositories(s: RegistryServices, caller: Caller, after: string, limit: number): string[] {
  const visible = (repo: string) => s.access.can(caller, repo, 'content/read') || s.access.can(caller, repo, 'metadata/read');
  if (limit < 0) return s.meta.listRepositories(after, -1).filter(visible);
  const out: string[] = [];
  let cursor = after;
  for (;;) {
    const batch = s.meta.listRepositories(cursor, Math.max(limit, 100));
    for (const repo of batch) {
      if (visible(repo)) out.push(repo);
      if (out.length === limit) return out;
    }
    if (batch.length < Math.max(limit, 100)) return out;
    cursor = batch[batch.length - 1]!;
  }
}

/** The referrers API: an image index of the manifests whose `subject` is the digest. */
export async function listReferrers(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  const subject = parseDigest(ctx.ref).digest;
  const artifactType = ctx.url.searchParams.get('artifactType') ?? undefined;
  const manifests = s.meta.referrers(name, subject, artifactType).map((m) => {
    const d: Record<string, unknown> = { mediaType: m.mediaType, digest: m.digest, size: m.size };
    if (m.referrerType) d.artifactType = m.referrerType;
    if (m.annotations) d.annotations = m.annotations;
    return d;
  });
  const headers: Record<string, string> = {};
  if (artifactType !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  sendJson(ctx.res, 200, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }, { ...headers, 'Content-Type': MediaType.OciIndex });
}
