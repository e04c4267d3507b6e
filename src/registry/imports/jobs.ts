/**
 * Import jobs: the registry copies an image (every platform, byte-identical, or a sparse subset)
 * from another registry into its own repositories, while the client only asks and watches. Child
 * manifests and blobs land first, by digest; tags are set last, all together, so a failed import
 * leaves no tag behind. Jobs live in memory (the last 200), not across restarts.
 */
import { randomUUID } from 'node:crypto';
import { copyImage, type BlobState, type CopyEvent, type PlatformSelection } from '../../client/copy.js';
import type { Credentials } from '../../client/credentials.js';
import { RegistryClient } from '../../client/registry-client.js';
import { RemoteSource } from '../../client/remote.js';
import { RegistryError } from '../../oci/errors.js';
import { isValidRepositoryName, isValidTag } from '../../oci/names.js';
import { formatPlatform, parsePlatform } from '../../oci/platform.js';
import { formatReference, parseReference, type ImageReference } from '../../oci/reference.js';
import { describe, type Caller } from '../auth/access.js';
import type { RegistryServices } from '../context.js';
import { storeManifest } from '../v2/manifests.js';
import { RegistrySink } from './sink.js';

export interface ImportTarget {
  repository: string;
  /** Absent: imported by digest only (`--repository`). */
  tag?: string;
}

export interface ImportRequest {
  source: ImageReference;
  targets: ImportTarget[];
  platforms: string[];
  force: boolean;
  credentials?: Credentials;
  /** Speak plain HTTP to a source that is not on loopback. */
  sourcePlainHttp: boolean;
}

export type ImportPhase = 'queued' | 'resolving' | 'copying' | 'tagging' | 'succeeded' | 'failed';

export interface ImportStatus {
  id: string;
  source: string;
  targets: string[];
  platforms: string[];
  phase: ImportPhase;
  bytesDone: number;
  bytesTotal: number;
  blobs: { digest: string; size: number; state: BlobState; bytes: number }[];
  /** Blobs downloaded from the source, linked from repositories here, or present already (over all targets). */
  copied: number;
  linked: number;
  present: number;
  bytesCopied: number;
  /** The root manifest imported; differs from the source's when only some platforms were asked for. */
  digest?: string;
  mediaType?: string;
  sparse: boolean;
  error?: string;
  createdTime: string;
  finishedTime?: string;
  /** Who asked (for the audit log and for who may look). */
  requestedBy: string;
}

const KEEP = 200;

function badRequest(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status: 400 });
}

/** Reads and checks the JSON body of `POST /manifold/v1/imports`. */
export function parseImportRequest(body: Record<string, unknown>): ImportRequest {
  if (typeof body.source !== 'string') throw badRequest('source must be a reference such as registry.example/app:1.0');
  let source: ImageReference;
  try {
    source = parseReference(body.source);
  } catch (e) {
    throw badRequest(`source: ${(e as Error).message}`);
  }
  const targets: ImportTarget[] = [];
  for (const image of Array.isArray(body.images) ? body.images : []) {
    if (typeof image !== 'string') throw badRequest('images must be REPO:TAG strings');
    const colon = image.lastIndexOf(':');
    const repository = colon > 0 ? image.slice(0, colon) : image;
    const tag = colon > 0 ? image.slice(colon + 1) : (source.tag ?? 'latest');
    if (!isValidRepositoryName(repository) || !isValidTag(tag)) throw badRequest(`invalid target image ${JSON.stringify(image)}: expected REPO:TAG`);
    targets.push({ repository, tag });
  }
  if (body.repository !== undefined) {
    if (typeof body.repository !== 'string' || !isValidRepositoryName(body.repository)) throw badRequest('repository must be a repository name');
    if (!targets.some((t) => t.repository === body.repository)) targets.push({ repository: body.repository });
  }
  if (targets.length === 0) throw badRequest('name at least one target: images ["REPO:TAG"] or repository');
  const platforms = Array.isArray(body.platforms) ? body.platforms.map(String) : [];
  try {
    platforms.forEach(parsePlatform);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  let credentials: Credentials | undefined;
  const c = body.credentials as Record<string, unknown> | undefined;
  if (c !== undefined && c !== null) {
    if (typeof c !== 'object' || (typeof c.username !== 'string' && typeof c.identityToken !== 'string')) throw badRequest('credentials take username and password, or identityToken');
    credentials = { username: String(c.username ?? ''), password: String(c.password ?? ''), ...(typeof c.identityToken === 'string' ? { identityToken: c.identityToken } : {}) };
  }
  return { source, targets, platforms, force: body.force === true, credentials, sourcePlainHttp: body.sourcePlainHttp === true };
}

/** A tag that exists already stops the import (409) unless it is forced. */
function assertTagsFree(s: RegistryServices, targets: ImportTarget[]): void {
  for (const t of targets) {
    if (t.tag && s.meta.resolveTag(t.repository, t.tag)) {
      throw new RegistryError('DENIED', `${t.repository}:${t.tag} already exists; import with --force (force: true) to overwrite it`, {
        status: 409,
        detail: { repository: t.repository, tag: t.tag },
      });
    }
  }
}

export class ImportJobs {
  private readonly jobs = new Map<string, ImportStatus>();

  get(id: string): ImportStatus | undefined {
    return this.jobs.get(id);
  }

  list(): ImportStatus[] {
    return [...this.jobs.values()].reverse();
  }

  /** Checks the request against what is stored and starts the job; tag conflicts fail here, before any copying. */
  start(s: RegistryServices, req: ImportRequest, caller: Caller): ImportStatus {
    if (!req.force) assertTagsFree(s, req.targets);
    const job: ImportStatus = {
      id: randomUUID(),
      source: formatReference(req.source),
      targets: req.targets.map((t) => (t.tag ? `${t.repository}:${t.tag}` : t.repository)),
      platforms: req.platforms.map((p) => formatPlatform(parsePlatform(p))),
      phase: 'queued',
      bytesDone: 0,
      bytesTotal: 0,
      blobs: [],
      sparse: false,
      copied: 0,
      linked: 0,
      present: 0,
      bytesCopied: 0,
      createdTime: new Date().toISOString(),
      requestedBy: describe(caller.principal),
    };
    this.jobs.set(job.id, job);
    for (const old of [...this.jobs.keys()].slice(0, Math.max(0, this.jobs.size - KEEP))) this.jobs.delete(old);
    s.access.audit.record({ event: 'import-started', who: job.requestedBy, ip: caller.ip, id: job.id, source: job.source, targets: job.targets });
    void this.run(s, job, req, caller);
    return job;
  }

  private async run(s: RegistryServices, job: ImportStatus, req: ImportRequest, caller: Caller): Promise<void> {
    const targetRepos = new Set(req.targets.map((t) => t.repository));
    const mayLinkFrom = (repo: string) => targetRepos.has(repo) || s.access.can(caller, repo, 'content/read');
    const blobs = new Map<string, ImportStatus['blobs'][number]>();
    const onEvent = (e: CopyEvent) => {
      if (e.type !== 'blob') return;
      blobs.set(e.digest, { digest: e.digest, size: e.size, state: e.state, bytes: e.bytes });
      job.blobs = [...blobs.values()];
      job.bytesTotal = job.blobs.reduce((n, b) => n + b.size, 0);
      job.bytesDone = job.blobs.reduce((n, b) => n + (b.state === 'waiting' ? 0 : b.bytes), 0);
    };
    try {
      job.phase = 'resolving';
      const client = new RegistryClient(req.source.registry, { credentials: req.credentials ?? null, plainHttp: req.sourcePlainHttp });
      const platforms: PlatformSelection = req.platforms.length ? { mode: 'subset', platforms: req.platforms.map(parsePlatform) } : { mode: 'all' };
      let root: { digest: string; mediaType: string } | undefined;
      for (const [i, target] of req.targets.entries()) {
        job.phase = 'copying';
        // Progress follows the first target; the others link what it brought in.
        const result = await copyImage(new RemoteSource(client, req.source), new RegistrySink(s, target.repository, mayLinkFrom), {
          platforms,
          tag: '',
          concurrency: 4,
          onEvent: i === 0 ? onEvent : undefined,
        });
        root = result;
        job.sparse = result.rewritten;
        job.platforms = result.platforms;
        job.copied += result.blobs.transferred;
        job.linked += result.blobs.mounted;
        job.present += result.blobs.existing;
        job.bytesCopied += result.blobs.bytes;
      }
      job.phase = 'tagging';
      // Checked again: a tag may have appeared while the blobs were copied.
      if (!req.force) assertTagsFree(s, req.targets);
      const bytes = s.meta.getManifest(req.targets[0]!.repository, root!.digest)!.bytes;
      for (const t of req.targets) if (t.tag) await storeManifest(s, t.repository, t.tag, bytes, root!.mediaType);
      job.digest = root!.digest;
      job.mediaType = root!.mediaType;
      job.phase = 'succeeded';
      s.access.audit.record({ event: 'push', who: job.requestedBy, ip: caller.ip, import: job.id, source: job.source, targets: job.targets, digest: job.digest });
    } catch (e) {
      job.phase = 'failed';
      job.error = (e as Error).message;
      s.log.warn({ event: 'import.failed', id: job.id, source: job.source, err: job.error }, 'import failed');
    } finally {
      job.finishedTime = new Date().toISOString();
    }
  }
}
