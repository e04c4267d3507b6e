import type { IncomingMessage } from 'node:http';
import { isIndexType } from '../../oci/mediatypes.js';
import type { ChangeableAttributes, ManifestSummary, RepositoryRecord, TagRecord } from '../../store/meta/types.js';
import type { RegistryServices } from '../context.js';

/** Store records in the JSON shapes of Azure Container Registry's `/acr/v1` API. */

const iso = (ms: number) => new Date(ms).toISOString();

/** The `registry` field: the host the request came to, as clients name this registry. */
export function registryName(req: IncomingMessage, s: RegistryServices): string {
  return req.headers.host ?? s.config.listen;
}

function attributes(a: ChangeableAttributes): ChangeableAttributes {
  return { deleteEnabled: a.deleteEnabled, writeEnabled: a.writeEnabled, readEnabled: a.readEnabled, listEnabled: a.listEnabled };
}

export function repositoryView(registry: string, r: RepositoryRecord) {
  return {
    registry,
    imageName: r.name,
    createdTime: iso(r.createdAt),
    lastUpdateTime: iso(r.updatedAt),
    manifestCount: r.manifestCount,
    tagCount: r.tagCount,
    changeableAttributes: attributes(r.attributes),
  };
}

export function tagView(t: TagRecord) {
  return {
    name: t.name,
    digest: t.digest,
    createdTime: iso(t.createdAt),
    lastUpdateTime: iso(t.updatedAt),
    signed: t.signed,
    changeableAttributes: attributes(t.attributes),
  };
}

/** Platform fields appear only when known (an index has none of its own), as ACR omits them. */
function platform(p: { os: string | null; architecture: string | null; variant: string | null }) {
  const out: { architecture?: string; os?: string; variant?: string } = {};
  if (p.architecture !== null) out.architecture = p.architecture;
  if (p.os !== null) out.os = p.os;
  if (p.variant !== null) out.variant = p.variant;
  return out;
}

export function manifestView(m: ManifestSummary) {
  return {
    digest: m.digest,
    imageSize: m.imageSize,
    createdTime: iso(m.createdAt),
    lastUpdateTime: iso(m.updatedAt),
    ...platform(m),
    mediaType: m.mediaType,
    ...(m.configMediaType !== null ? { configMediaType: m.configMediaType } : {}),
    ...(m.artifactType !== null ? { artifactType: m.artifactType } : {}),
    tags: m.tags,
    ...(isIndexType(m.mediaType) ? { references: m.platforms.map((p) => ({ digest: p.digest, ...platform(p) })) } : {}),
    changeableAttributes: attributes(m.attributes),
  };
}
