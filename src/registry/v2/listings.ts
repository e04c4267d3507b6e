import { parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { MediaType } from '../../oci/mediatypes.js';
import type { RegistryServices, RequestContext } from '../context.js';
import { nextLink, parsePage, sendJson } from '../http.js';

/**
 * A page of a sorted listing: asks the store for one more than `n` to know whether a next page
 * (and so a `Link` header) exists.
 */
function page(fetch: (after: string, limit: number) => string[], url: URL, path: string, defaultN: number | undefined) {
  const { n: asked, last } = parsePage(url);
  const n = asked ?? defaultN;
  if (n === undefined) return { items: fetch(last, -1), link: undefined };
  if (n === 0) return { items: [], link: undefined };
  const items = fetch(last, n + 1);
  if (items.length <= n) return { items, link: undefined };
  items.length = n;
  return { items, link: nextLink(path, n, items[n - 1]!) };
}

export async function listTags(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  if (!s.meta.repositoryExists(name)) {
    throw new RegistryError('NAME_UNKNOWN', `repository ${name} is not known to this registry`, { detail: { name } });
  }
  const path = `/v2/${name}/tags/list`;
  const { items, link } = page((after, limit) => s.meta.listTags(name, after, limit), ctx.url, path, undefined);
  sendJson(ctx.res, 200, { name, tags: items }, link ? { Link: link } : {});
}

export async function catalog(url: URL, s: RegistryServices): Promise<{ body: unknown; headers: Record<string, string> }> {
  const { items, link } = page((after, limit) => s.meta.listRepositories(after, limit), url, '/v2/_catalog', s.config.catalogPageSize);
  return { body: { repositories: items }, headers: link ? { Link: link } : {} };
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
