/**
 * Image references: `[registry/]repository[:tag][@digest]`, read the way docker and
 * distribution/reference read them, so a name means the same thing to every client.
 */
import { isValidRepositoryName, isValidTag } from './names.js';
import { isDigest } from './digest.js';

export const DOCKER_HUB = 'docker.io';

export interface ImageReference {
  /** Registry host[:port], e.g. `127.0.0.1:5000` or `docker.io`. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export interface ParseReferenceOptions {
  /** Registry for references that name none (docker's rule gives docker.io). */
  defaultRegistry?: string;
  /** Tag for references that name neither tag nor digest (`latest`); `null` leaves it unset. */
  defaultTag?: string | null;
}

/**
 * A leading component is a registry host when it has a dot or a port, or is `localhost`
 * (distribution/reference's rule); otherwise it is part of the repository path.
 */
function looksLikeHost(component: string): boolean {
  return component === 'localhost' || component.includes('.') || component.includes(':') || component.startsWith('[');
}

export function parseReference(text: string, options: ParseReferenceOptions = {}): ImageReference {
  const input = text.trim();
  if (input === '') throw new Error('empty image reference');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new Error(`invalid digest in image reference "${input}"`);
  }
  let registry = options.defaultRegistry ?? DOCKER_HUB;
  const slash = rest.indexOf('/');
  if (slash > 0 && looksLikeHost(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new Error(`invalid tag "${tag}" in image reference "${input}"`);
  }
  let repository = rest;
  // Docker Hub's official images live under library/.
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!isValidRepositoryName(repository)) {
    throw new Error(`invalid repository name "${repository}" in image reference "${input}" (lowercase letters, digits, separators . _ __ - and /)`);
  }
  if (tag === undefined && digest === undefined) {
    const defaultTag = options.defaultTag === undefined ? 'latest' : options.defaultTag;
    if (defaultTag !== null) tag = defaultTag;
  }
  return { registry, repository, tag, digest };
}

/** The canonical text of a reference: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** What to ask the registry's manifests endpoint for: the digest when there is one, else the tag. */
export function manifestReference(ref: ImageReference): string {
  const r = ref.digest ?? ref.tag;
  if (!r) throw new Error(`image reference ${formatReference(ref)} names neither tag nor digest`);
  return r;
}

/** Registries only this machine can reach (`localhost`, `127.x.x.x`, `::1`, with or without a port). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
