/**
 * Copies an image or index from a source to a sink: picks the platforms asked for, moves each
 * blob once (skipping what the sink has, mounting across repositories where it can, transferring
 * the rest in parallel with bounded concurrency), then writes child manifests before the root, so
 * the root never names something the sink lacks.
 */
import { digestOf } from '../oci/digest.js';
import { IMAGE_CONFIG_TYPES } from '../oci/mediatypes.js';
import { parseManifest, type Descriptor, type ParsedManifest } from '../oci/manifest.js';
import { bestPlatformMatch, formatPlatform, normalizePlatform, platformOfImageConfig, type Platform } from '../oci/platform.js';
import type { BlobDescriptor, ImageSink, ImageSource, ManifestData } from './image.js';

/** Which images of a multi-platform source to copy. */
export type PlatformSelection =
  /** Every image, and the index byte-for-byte. */
  | { mode: 'all' }
  /** The one image that best suits a platform (containerd's rules); the result is that image. */
  | { mode: 'one'; platform: Platform }
  /** Exactly these platforms, under a reduced index with its own digest. */
  | { mode: 'subset'; platforms: Platform[] };

export type BlobState = 'waiting' | 'exists' | 'mounted' | 'transferring' | 'done' | 'failed';

export type CopyEvent =
  | { type: 'blob'; digest: string; size: number; state: BlobState; bytes: number }
  | { type: 'manifest'; digest: string; mediaType: string; platform?: string }
  | { type: 'note'; message: string };

export interface CopyOptions {
  platforms: PlatformSelection;
  /** Tag for the root at the sink; '' copies it by digest only. */
  tag: string;
  concurrency?: number;
  onEvent?: (e: CopyEvent) => void;
}

export interface CopyResult {
  digest: string;
  mediaType: string;
  size: number;
  /** Platforms of the images copied (os/arch[/variant]). */
  platforms: string[];
  /** True when the root differs from the source's (one platform picked, or a reduced index). */
  rewritten: boolean;
  blobs: { transferred: number; mounted: number; existing: number; bytes: number };
}

/** Attestation entries (BuildKit's provenance/SBOM) are `unknown/unknown` and point at an image. */
export function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown');
}

function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && (x.variant ?? '') === (y.variant ?? '') && (!x.osVersion || x.osVersion === y.osVersion);
}

export function describePlatforms(manifests: Descriptor[]): string {
  const list = manifests.filter((d) => d.platform && !isAttestation(d)).map((d) => formatPlatform(d.platform!));
  return list.length ? list.join(', ') : 'no platform entries';
}

/** Runs `work` over `items` with at most `limit` running at once; the first failure wins. */
export async function mapLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

interface Plan {
  root: ManifestData;
  /** Image manifests (and nested indexes) to write before the root, children first. */
  manifests: { data: ManifestData; parsed: ParsedManifest; platform?: string }[];
  platforms: string[];
  rewritten: boolean;
}

export async function copyImage(source: ImageSource, sink: ImageSink, options: CopyOptions): Promise<CopyResult> {
  const emit = options.onEvent ?? (() => {});
  try {
    const plan = await planCopy(source, options.platforms, sink.acceptsIndex);
    const stats = { transferred: 0, mounted: 0, existing: 0, bytes: 0 };

    // Manifests the sink already has need nothing more (a registry only accepts them complete).
    const pending = [];
    for (const m of plan.manifests) {
      if (m.parsed.kind === 'image' && (await sink.hasManifest(m.data.digest))) continue;
      pending.push(m);
    }
    const blobs = new Map<string, BlobDescriptor>();
    const rootParsed = parseManifest(plan.root.bytes, plan.root.mediaType);
    for (const m of [...pending, { parsed: rootParsed }]) {
      for (const d of [...(m.parsed.config ? [m.parsed.config] : []), ...m.parsed.layers]) {
        // Foreign layers live elsewhere by design (Windows base layers); registries do not hold them.
        if (d.urls?.length && d.mediaType.includes('foreign')) continue;
        blobs.set(d.digest, { digest: d.digest, size: d.size, mediaType: d.mediaType });
      }
    }
    for (const b of blobs.values()) emit({ type: 'blob', digest: b.digest, size: b.size, state: 'waiting', bytes: 0 });

    await mapLimit([...blobs.values()], options.concurrency ?? 4, async (b) => {
      if (await sink.hasBlob(b)) {
        stats.existing++;
        emit({ type: 'blob', digest: b.digest, size: b.size, state: 'exists', bytes: b.size });
        return;
      }
      if (source.location && (await sink.mountBlob(b, source.location))) {
        stats.mounted++;
        emit({ type: 'blob', digest: b.digest, size: b.size, state: 'mounted', bytes: b.size });
        return;
      }
      let bytes = 0;
      emit({ type: 'blob', digest: b.digest, size: b.size, state: 'transferring', bytes });
      try {
        await sink.putBlob(
          b,
          (offset) => source.openBlob(b, offset),
          (n) => {
            bytes += n;
            stats.bytes += n;
            emit({ type: 'blob', digest: b.digest, size: b.size, state: 'transferring', bytes });
          },
        );
      } catch (e) {
        emit({ type: 'blob', digest: b.digest, size: b.size, state: 'failed', bytes });
        throw e;
      }
      stats.transferred++;
      emit({ type: 'blob', digest: b.digest, size: b.size, state: 'done', bytes: b.size });
    });

    for (const m of pending) {
      await sink.putManifest(m.data);
      emit({ type: 'manifest', digest: m.data.digest, mediaType: m.data.mediaType, platform: m.platform });
    }
    const digest = await sink.putManifest(plan.root, options.tag);
    emit({ type: 'manifest', digest, mediaType: plan.root.mediaType });
    await sink.close();
    return { digest, mediaType: plan.root.mediaType, size: plan.root.bytes.length, platforms: plan.platforms, rewritten: plan.rewritten, blobs: stats };
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    await source.close();
  }
}

async function planCopy(source: ImageSource, selection: PlatformSelection, acceptsIndex: boolean): Promise<Plan> {
  const root = await source.root();
  const parsed = parseManifest(root.bytes, root.mediaType);
  if (parsed.kind === 'image') {
    const platform = await imagePlatform(source, parsed);
    if (selection.mode !== 'all' && platform) {
      const wanted = selection.mode === 'one' ? [selection.platform] : selection.platforms;
      const fits = (w: Platform) => (selection.mode === 'one' ? bestPlatformMatch(w, [platform]) === 0 : samePlatform(w, platform));
      if (!wanted.some(fits)) {
        throw new Error(`${source.name} is a single-platform image for ${formatPlatform(platform)}, not ${wanted.map(formatPlatform).join(', ')}`);
      }
    }
    return { root, manifests: [], platforms: platform ? [formatPlatform(platform)] : [], rewritten: false };
  }

  if (selection.mode === 'one') {
    const candidates = parsed.manifests.map((d) => (isAttestation(d) ? undefined : d.platform));
    const i = bestPlatformMatch(selection.platform, candidates);
    if (i < 0) {
      throw new Error(`${source.name} has no image for ${formatPlatform(selection.platform)}; it has: ${describePlatforms(parsed.manifests)}`);
    }
    const chosen = parsed.manifests[i]!;
    const child = await source.manifest(chosen.digest);
    const childParsed = parseManifest(child.bytes, child.mediaType);
    if (childParsed.kind === 'index') throw new Error(`${source.name}: the entry for ${formatPlatform(chosen.platform!)} is itself an index`);
    return { root: child, manifests: [], platforms: [formatPlatform(chosen.platform!)], rewritten: true };
  }

  if (!acceptsIndex) {
    throw new Error(`${source.name} is a multi-platform index (${describePlatforms(parsed.manifests)}); the destination holds one image: pick one with --platform`);
  }

  let entries = parsed.manifests;
  let rootOut = root;
  let rewritten = false;
  if (selection.mode === 'subset') {
    const missing = selection.platforms.filter((w) => !entries.some((d) => d.platform && !isAttestation(d) && samePlatform(w, d.platform)));
    if (missing.length) {
      throw new Error(`${source.name} has no image for ${missing.map(formatPlatform).join(', ')}; it has: ${describePlatforms(entries)}`);
    }
    const images = entries.filter((d) => d.platform && !isAttestation(d) && selection.platforms.some((w) => samePlatform(w, d.platform!)));
    const kept = new Set(images.map((d) => d.digest));
    // Keep the attestations of the images kept; drop the rest.
    const selected = entries.filter((d) => kept.has(d.digest) || (isAttestation(d) && kept.has(d.annotations?.['vnd.docker.reference.digest'] ?? '')));
    if (selected.length !== entries.length) {
      const doc = JSON.parse(root.bytes.toString('utf8')) as { manifests: unknown[] };
      const keep = new Set(selected.map((d) => entries.indexOf(d)));
      doc.manifests = doc.manifests.filter((_, idx) => keep.has(idx));
      const bytes = Buffer.from(JSON.stringify(doc));
      rootOut = { bytes, mediaType: root.mediaType, digest: digestOf(bytes) };
      rewritten = true;
      entries = selected;
    }
  }

  const manifests: Plan['manifests'] = [];
  for (const d of entries) {
    const data = await source.manifest(d.digest);
    const p = parseManifest(data.bytes, data.mediaType);
    if (p.kind === 'index') {
      // A nested index: copy everything under it too, children first.
      const under: ImageSource = {
        name: source.name,
        location: source.location,
        root: async () => data,
        manifest: (x) => source.manifest(x),
        openBlob: (b, o) => source.openBlob(b, o),
        close: async () => {},
      };
      const nested = await planCopy(under, { mode: 'all' }, true);
      manifests.push(...nested.manifests);
    }
    manifests.push({ data, parsed: p, platform: d.platform && !isAttestation(d) ? formatPlatform(d.platform) : undefined });
  }
  const platforms = entries.filter((d) => d.platform && !isAttestation(d)).map((d) => formatPlatform(d.platform!));
  return { root: rootOut, manifests, platforms, rewritten };
}

/** A single image's platform, from its config (artifacts have none). */
export async function imagePlatform(source: ImageSource, parsed: ParsedManifest): Promise<Platform | undefined> {
  const config = parsed.config;
  if (!config || !IMAGE_CONFIG_TYPES.has(config.mediaType) || config.size > 4 * 1024 * 1024) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of await source.openBlob({ digest: config.digest, size: config.size, mediaType: config.mediaType }, 0)) chunks.push(Buffer.from(c as Uint8Array));
  return platformOfImageConfig(Buffer.concat(chunks));
}
