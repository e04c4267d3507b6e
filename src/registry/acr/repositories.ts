import type { RepositoryRecord } from '../../store/meta/types.js';
import type { RegistryServices, RequestContext } from '../context.js';
import { sendJson } from '../http.js';
import { assertRepositoryDeletable } from '../locks.js';
import { nameUnknown } from '../v2/listings.js';
import { readAttributesPatch } from './query.js';
import { registryName, repositoryView } from './views.js';

/** `/acr/v1/{name}`: a repository's attributes, their PATCH, and deleting the whole repository. */

export function repository(s: RegistryServices, name: string): RepositoryRecord {
  const r = s.meta.repositoryInfo(name);
  if (!r) throw nameUnknown(name);
  return r;
}

export async function getRepository(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  sendJson(ctx.res, 200, repositoryView(registryName(ctx.req, s), repository(s, name)));
}

export async function patchRepository(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  const patch = await readAttributesPatch(ctx.req);
  repository(s, name);
  s.meta.setAttributes({ kind: 'repository', repo: name }, patch);
  s.log.info({ event: 'repository.attributes', repo: name, patch }, 'repository attributes changed');
  sendJson(ctx.res, 200, repositoryView(registryName(ctx.req, s), repository(s, name)));
}

export async function deleteRepository(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  repository(s, name);
  assertRepositoryDeletable(s.meta, name);
  const deleted = s.meta.deleteRepository(name)!;
  s.log.info({ event: 'repository.delete', repo: name, manifests: deleted.manifests.length, tags: deleted.tags.length }, 'repository deleted');
  sendJson(ctx.res, 202, { manifestsDeleted: deleted.manifests, tagsDeleted: deleted.tags });
}
