/**
 * Manifest lists being assembled on this machine (`manifold manifest create/annotate/push`), kept
 * as JSON files in the user's config directory as docker keeps its own, plus the rules for
 * turning them into a manifest list or OCI index.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../oci/digest.js';
import { MediaType } from '../oci/mediatypes.js';
import { parseManifest } from '../oci/manifest.js';
import { formatPlatform, normalizePlatform, type Platform } from '../oci/platform.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import { imagePlatform, isAttestation } from './copy.js';
import { RemoteSource } from './remote.js';
import type { ManifestData } from './image.js';
import type { RegistryClient } from './registry-client.js';

export interface ListEntry {
  /** Where the image lives, as `registry/repository@digest`. */
  registry: string;
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  platform: Platform;
  annotations?: Record<string, string>;
  /** The reference the user named (for annotate and messages). */
  source: string;
}

export interface LocalList {
  ref: string;
  format?: 'docker' | 'oci';
  entries: ListEntry[];
}

export function configDir(): string {
  return process.env.MANIFOLD_CONFIG_DIR || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'manifold');
}

function listPath(ref: string): string {
  return join(configDir(), 'manifests', `${encodeURIComponent(ref)}.json`);
}

export async function loadList(ref: string): Promise<LocalList | undefined> {
  try {
    return JSON.parse(await readFile(listPath(ref), 'utf8')) as LocalList;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the local manifest list ${ref}: ${(e as Error).message}`);
  }
}

export async function saveList(list: LocalList): Promise<void> {
  const path = listPath(list.ref);
  await mkdir(join(configDir(), 'manifests'), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(list, null, 2));
  await rename(`${path}.tmp`, path);
}

export async function deleteList(ref: string): Promise<boolean> {
  const path = listPath(ref);
  try {
    await rm(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export async function listLocalLists(): Promise<string[]> {
  const files = await readdir(join(configDir(), 'manifests')).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.json')).map((f) => decodeURIComponent(f.slice(0, -5)));
}

/**
 * The entries an image reference contributes: itself for an image (platform from its config),
 * every child for an index (unlike docker, which refuses), attestations only when asked.
 */
export async function entriesFor(client: RegistryClient, ref: ImageReference, includeAttestations: boolean): Promise<ListEntry[]> {
  const source = formatReference(ref);
  const m = await client.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest');
  const parsed = parseManifest(m.bytes, m.mediaType);
  const base = { registry: ref.registry, repository: ref.repository, source };
  if (parsed.kind === 'image') {
    const platform = await imagePlatform(new RemoteSource(client, ref), parsed);
    if (!platform) throw new Error(`${source} has no platform in its config (is it an image?): annotate needs one`);
    return [{ ...base, digest: m.digest, mediaType: m.mediaType, size: m.bytes.length, platform }];
  }
  return parsed.manifests
    .filter((d) => includeAttestations || !isAttestation(d))
    .map((d) => {
      if (!d.platform) throw new Error(`${source}: entry ${d.digest} has no platform`);
      const e: ListEntry = { ...base, digest: d.digest, mediaType: d.mediaType, size: d.size, platform: d.platform };
      if (d.annotations) e.annotations = d.annotations;
      return e;
    });
}

/** The platform text used to spot duplicates: normalised, with os.version. */
export function platformKey(p: Platform): string {
  const n = normalizePlatform(p);
  return `${formatPlatform(n)}${n.osVersion ? `@${n.osVersion}` : ''}`;
}

export function duplicatePlatforms(entries: ListEntry[]): string[] {
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (isAttestation({ mediaType: e.mediaType, digest: e.digest, size: e.size, platform: e.platform, annotations: e.annotations })) continue;
    const k = platformKey(e.platform);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

/** The list's format: as asked, else OCI when any entry is an OCI manifest, else Docker. */
export function listFormat(list: LocalList): 'docker' | 'oci' {
  if (list.format) return list.format;
  return list.entries.some((e) => e.mediaType.startsWith('application/vnd.oci.')) ? 'oci' : 'docker';
}

/** The bytes of the manifest list / index the local list describes. */
export function buildIndex(list: LocalList): ManifestData {
  const format = listFormat(list);
  const mediaType = format === 'oci' ? MediaType.OciIndex : MediaType.DockerManifestList;
  const manifests = list.entries.map((e) => {
    const platform: Record<string, unknown> = { architecture: e.platform.architecture, os: e.platform.os };
    if (e.platform.osVersion) platform['os.version'] = e.platform.osVersion;
    if (e.platform.osFeatures?.length) platform['os.features'] = e.platform.osFeatures;
    if (e.platform.variant) platform.variant = e.platform.variant;
    const d: Record<string, unknown> = { mediaType: e.mediaType, size: e.size, digest: e.digest, platform };
    if (e.annotations && format === 'oci') d.annotations = e.annotations;
    return d;
  });
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 3));
  return { bytes, mediaType, digest: digestOf(bytes) };
}
