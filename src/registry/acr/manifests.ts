import { parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import type { ManifestSummary } from '../../store/meta/types.js';
import type { RegistryServices, RequestContext } from '../context.js';
import { sendJson } from '../http.js';
import { listPage, readAttributesPatch } from './query.js';
import { repository } from './repositories.js';
import { manifestView, registryName } from './views.js';

/** `/acr/v1/{name}/_manifests[/{digest}]`: manifests with sizes, platforms, tags and attributes. */

function manifest(s: RegistryServices, name: string, ref: string): ManifestSummary {
  repository(s, name);
  const digest = parseDigest(ref).digest;
  const m = s.meta.manifestSummary(name, digest);
  if (!m) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name}@${digest} is not known to this registry`, { detail: { name, digest } });
  return m;
}

function sendManifest(ctx: RequestContext, m: ManifestSummary): void {
  sendJson(ctx.res, 200, { registry: registryName(ctx.req, ctx.services), imageName: ctx.name, manifest: manifestView(m) });
}

/** `?n=&last=&orderby=`: the repository's listable manifests, paged with `Link`; served from indexed columns only. */
export async function listManifests(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  repository(s, name);
  const { items, headers } = listPage(ctx, `/acr/v1/${name}/_manifests`, (q) => s.meta.manifestSummaries(name, q), (m) => m.digest);
  sendJson(ctx.res, 200, { registry: registryName(ctx.req, s), imageName: name, manifests: items.map(manifestView) }, headers);
}

export async function getManifest(ctx: RequestContext): Promise<void> {
  sendManifest(ctx, manifest(ctx.services, ctx.name, ctx.ref));
}

export async function patchManifest(ctx: RequestContext): Promise<void> {
  const { services: s, name } = ctx;
  const patch = await readAttributesPatch(ctx.req);
  const m = manifest(s, name, ctx.ref);
  s.meta.setAttributes({ kind: 'manifest', repo: name, digest: m.digest }, patch);
  s.log.info({ event: 'manifest.attributes', repo: name, digest: m.digest, patch }, 'manifest attributes changed');
  sendManifest(ctx, manifest(s, name, m.digest));
}
