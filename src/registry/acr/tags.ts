import { parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { isValidTag } from '../../oci/names.js';
import type { TagRecord } from '../../store/meta/types.js';
import type { RegistryServices, RequestContext } from '../context.js';
import { sendEmpty, sendJson } from '../http.js';
import { assertTagDeletable } from '../locks.js';
import { listPage, readAttributesPatch } from './query.js';
import { repository } from './repositories.js';
import { registryName, tagView } from './views.js';

/** `/acr/v1/{name}/_tags[/{tag}]`: tags with their attributes. */

function tagUnknown(name: string, tag: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `tag ${name}:${tag.slice(0, 200)} is not known to this registry`, { detail: { name, tag: tag.slice(0, 200) } });
}

function tag(s: RegistryServices, name: string, ref: string): TagRecord {
  repository(s, name);
  const t = isValidTag(ref) ? s.meta.tagInfo(name, ref) : undefined;
  if (!t) throw tagUnknown(name, ref);
  return t;
}

function sendTag(ctx: RequestContext, t: TagRecord): void {
  sendJson(ctx.res, 200, { registry: registryName(ctx.req, ctx.services), imageName: ctx.name, tag: tagView(t) });
}

/** `?n=&last=&orderby=&digest=`: the repository's listable tags, paged with `Link`. */
export async function listTags(ctx: RequestContext): Promise<void> {
  const { services: s, name, url } = ctx;
  repository(s, name);
  const rawDigest = url.searchParams.get('digest');
  const digest = rawDigest ? parseDigest(rawDigest).digest : undefined;
  const { items, headers } = listPage(ctx, `/acr/v1/${name}/_tags`, (q) => s.meta.tagRecords(name, { ...q, digest }), (t) => t.name, digest ? { digest } : {});
  sendJson(ctx.res, 200, { registry: registryName(ctx.req, s), imageName: name, tags: items.map(tagView) }, headers);
}

export async function getTag(ctx: RequestContext): Promise<void> {
  sendTag(ctx, tag(ctx.services, ctx.name, ctx.ref));
}

export async function patchTag(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  const patch = await readAttributesPatch(ctx.req);
  tag(s, name, ctx.ref);
  s.meta.setAttributes({ kind: 'tag', repo: name, tag: ctx.ref }, patch);
  s.log.info({ event: 'tag.attributes', repo: name, tag: ctx.ref, patch }, 'tag attributes changed');
  sendTag(ctx, tag(s, name, ctx.ref));
}

/** Removes the tag only; the manifest stays (untag). */
export async function deleteTag(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  tag(s, name, ctx.ref);
  assertTagDeletable(s.meta, name, ctx.ref);
  s.meta.deleteTag(name, ctx.ref);
  s.log.info({ event: 'tag.delete', repo: name, tag: ctx.ref }, 'tag deleted');
  sendEmpty(ctx.res, 202);
}
