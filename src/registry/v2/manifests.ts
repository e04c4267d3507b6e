import { digestOf, parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { parseManifest, type Descriptor, type ParsedManifest } from '../../oci/manifest.js';
import { bareMediaType, IMAGE_CONFIG_TYPES, isIndexType } from '../../oci/mediatypes.js';
import { isValidTag } from '../../oci/names.js';
import { bestPlatformMatch, platformOfImageConfig } from '../../oci/platform.js';
import type { ManifestReference, ManifestWithBytes, NewManifest } from '../../store/meta/types.js';
import type { RegistryServices, RequestContext } from '../context.js';
import { readBody, sendEmpty } from '../http.js';
import { assertManifestDeletable, assertReadable, assertTagDeletable, assertTagWritable } from '../locks.js';

/** Largest config blob read at push time for its os/architecture. */
const MAX_CONFIG_READ = 8 * 1024 * 1024;
/** What Distribution serves to clients that cannot take a list or index. */
const DEFAULT_PLATFORM = { os: 'linux', architecture: 'amd64' };

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string };

function parseReference(ref: string, forWrite: boolean): Reference {
  if (ref.includes(':')) return { kind: 'digest', digest: parseDigest(ref).digest };
  if (!isValidTag(ref)) {
    if (forWrite) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(ref.slice(0, 200))}`);
    throw new RegistryError('MANIFEST_UNKNOWN', `invalid tag ${JSON.stringify(ref.slice(0, 200))}`);
  }
  return { kind: 'tag', tag: ref };
}

function manifestUnknown(name: string, ref: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${name}:${ref}`, { detail: { name, reference: ref } });
}

function lookup(s: RegistryServices, name: string, ref: Reference): ManifestWithBytes | undefined {
  const digest = ref.kind === 'tag' ? s.meta.resolveTag(name, ref.tag) : ref.digest;
  return digest ? s.meta.getManifest(name, digest) : undefined;
}

/** Media types the client's Accept header names; undefined when it names none (accept anything). */
function acceptedTypes(header: string | string[] | undefined): Set<string> | undefined {
  if (!header) return undefined;
  const list = (Array.isArray(header) ? header.join(',') : header).split(',').map(bareMediaType).filter(Boolean);
  if (list.length === 0 || list.includes('*/*')) return undefined;
  return new Set(list);
}

/**
 * A client whose Accept leaves out the list/index type gets the linux/amd64 child of a tag,
 * as Distribution answers old clients; by digest the bytes asked for are served.
 */
function negotiate(s: RegistryServices, name: string, ref: Reference, m: ManifestWithBytes, accept: Set<string> | undefined): ManifestWithBytes {
  if (!accept || accept.has(m.mediaType) || !isIndexType(m.mediaType) || ref.kind === 'digest') return m;
  const children = s.meta.references(name, m.digest).filter((r) => r.kind === 'manifest');
  const pick = bestPlatformMatch(
    DEFAULT_PLATFORM,
    children.map((c) => (c.os && c.architecture ? { os: c.os, architecture: c.architecture, variant: c.variant ?? undefined } : undefined)),
  );
  const child = pick >= 0 ? s.meta.getManifest(name, children[pick]!.digest) : undefined;
  if (!child) {
    throw new RegistryError('MANIFEST_UNKNOWN', `${m.mediaType} found, but the Accept header does not take it and it has no linux/amd64 image`, {
      detail: { name, reference: m.digest },
    });
  }
  return child;
}

export async function getManifest(ctx: RequestContext): Promise<void> {
  const { req, res, services: s, name } = ctx;
  const ref = parseReference(ctx.ref, false);
  const found = lookup(s, name, ref);
  if (!found) throw manifestUnknown(name, ctx.ref);
  assertReadable(s.meta, name, found.digest, ref.kind === 'tag' ? ref.tag : undefined);
  const m = negotiate(s, name, ref, found, acceptedTypes(req.headers.accept));
  if (m !== found) assertReadable(s.meta, name, m.digest);
  const etag = `"${m.digest}"`;
  const headers = {
    'Content-Type': m.mediaType,
    'Content-Length': m.bytes.length,
    'Docker-Content-Digest': m.digest,
    ETag: etag,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ETag: etag, 'Docker-Content-Digest': m.digest });
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : m.bytes);
}

export async function putManifest(ctx: RequestContext): Promise<void> {
  const { req, res, services: s, name } = ctx;
  const ref = parseReference(ctx.ref, true);
  const bytes = await readBody(req, s.config.maxManifestBytes);
  const { digest, subject } = await storeManifest(s, name, ref, bytes, req.headers['content-type']);
  const headers: Record<string, string | number> = {
    Location: `/v2/${name}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
  };
  if (subject) headers['OCI-Subject'] = subject;
  sendEmpty(res, 201, headers);
}

/**
 * Validates and stores a manifest under its digest (and a tag): the one way manifests enter the
 * registry, for pushes and for server-side imports alike.
 */
export async function storeManifest(
  s: RegistryServices,
  name: string,
  reference: string | Reference,
  bytes: Buffer,
  contentType: string | undefined,
): Promise<{ digest: string; subject?: string }> {
  const ref = typeof reference === 'string' ? parseReference(reference, true) : reference;
  if (bytes.length > s.config.maxManifestBytes) {
    throw new RegistryError('MANIFEST_INVALID', `manifest exceeds the limit of ${s.config.maxManifestBytes} bytes`, { status: 413 });
  }
  const parsed = parseManifest(bytes, contentType);
  const digest = digestOf(bytes, ref.kind === 'digest' ? parseDigest(ref.digest).algorithm : 'sha256');
  if (ref.kind === 'digest' && digest !== ref.digest) {
    throw new RegistryError('DIGEST_INVALID', `manifest bytes have digest ${digest}, not ${ref.digest}`, {
      detail: { expected: ref.digest, actual: digest },
    });
  }
  const record = await describe(s, name, digest, bytes, parsed);
  if (ref.kind === 'tag') record.tag = ref.tag;
  // Checked after the awaits above, right before the write, so a lock set meanwhile still holds.
  assertTagWritable(s.meta, name, record.tag);
  s.meta.putManifest(record);
  s.log.info({ event: 'manifest.push', repo: name, digest, tag: record.tag, mediaType: parsed.mediaType }, 'manifest pushed');
  return { digest, subject: parsed.subject?.digest };
}

export async function deleteManifest(ctx: RequestContext): Promise<void> {
  const { res, services: s, name } = ctx;
  const ref = parseReference(ctx.ref, false);
  if (ref.kind === 'tag') assertTagDeletable(s.meta, name, ref.tag);
  else assertManifestDeletable(s.meta, name, ref.digest);
  const deleted = ref.kind === 'tag' ? s.meta.deleteTag(name, ref.tag) : s.meta.deleteManifest(name, ref.digest);
  if (!deleted) throw manifestUnknown(name, ctx.ref);
  s.log.info({ event: 'manifest.delete', repo: name, reference: ctx.ref }, 'manifest deleted');
  sendEmpty(res, 202);
}

/** Blobs with `urls` (foreign / non-distributable layers) live elsewhere and need not be pushed. */
function isExternal(d: Descriptor): boolean {
  return (d.urls?.length ?? 0) > 0;
}

/**
 * Checks that everything the manifest points at is in this repository with the declared size,
 * and gathers the metadata stored beside it.
 */
async function describe(s: RegistryServices, repo: string, digest: string, bytes: Buffer, m: ParsedManifest): Promise<NewManifest> {
  const references: ManifestReference[] = [];
  let imageSize = 0;
  let platform: { os: string | null; architecture: string | null; variant: string | null } = { os: null, architecture: null, variant: null };

  const unknown = (d: Descriptor, what: string) =>
    new RegistryError('MANIFEST_BLOB_UNKNOWN', `${what} ${d.digest} is not in repository ${repo}`, { detail: { digest: d.digest } });
  const sizeMismatch = (d: Descriptor, what: string, actual: number) =>
    new RegistryError('MANIFEST_INVALID', `${what} ${d.digest} has size ${actual}, but the manifest says ${d.size}`, {
      detail: { digest: d.digest, size: d.size, actual },
    });

  if (m.kind === 'image') {
    const blobs = [{ d: m.config!, what: 'config' }, ...m.layers.map((d) => ({ d, what: 'layer' }))];
    for (const { d, what } of blobs) {
      imageSize += d.size;
      references.push({ digest: d.digest, kind: 'blob', mediaType: d.mediaType, size: d.size, os: null, architecture: null, variant: null });
      if (what === 'layer' && isExternal(d)) continue;
      const size = s.meta.repoBlobSize(repo, d.digest);
      if (size === undefined) throw unknown(d, what);
      if (size !== d.size) throw sizeMismatch(d, what, size);
    }
    if (IMAGE_CONFIG_TYPES.has(m.config!.mediaType)) platform = await readPlatform(s, m.config!);
  } else {
    for (const d of m.manifests) {
      const child = s.meta.manifestInfo(repo, d.digest);
      if (!child) throw unknown(d, 'manifest');
      if (child.size !== d.size) throw sizeMismatch(d, 'manifest', child.size);
      imageSize += child.imageSize;
      references.push({
        digest: d.digest,
        kind: 'manifest',
        mediaType: d.mediaType,
        size: d.size,
        os: d.platform?.os ?? child.os,
        architecture: d.platform?.architecture ?? child.architecture,
        variant: d.platform?.variant ?? child.variant,
      });
    }
  }
  return {
    repo,
    digest,
    bytes,
    mediaType: m.mediaType,
    artifactType: m.artifactType ?? null,
    configMediaType: m.config?.mediaType ?? null,
    configDigest: m.config?.digest ?? null,
    subject: m.subject?.digest ?? null,
    imageSize,
    ...platform,
    annotations: m.annotations ?? null,
    references,
  };
}

/** os/architecture/variant from an image config; a config that is not JSON just yields nothing. */
async function readPlatform(s: RegistryServices, config: Descriptor) {
  const none = { os: null, architecture: null, variant: null };
  if (config.size > MAX_CONFIG_READ || config.size === 0) return none;
  const chunks: Buffer[] = [];
  for await (const c of s.blobs.read(config.digest, { start: 0, end: config.size - 1 }) as AsyncIterable<Buffer>) chunks.push(c);
  const p = platformOfImageConfig(Buffer.concat(chunks));
  return p ? { os: p.os, architecture: p.architecture, variant: p.variant ?? null } : none;
}
