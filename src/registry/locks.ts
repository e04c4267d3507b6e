import { RegistryError } from '../oci/errors.js';
import type { ChangeableAttributes, MetadataStore } from '../store/meta/types.js';

/**
 * The one place where `changeableAttributes` are enforced, for /v2 and /acr/v1 alike. As in Azure
 * Container Registry, `writeEnabled: false` locks a thing against change *and* deletion;
 * `deleteEnabled: false` only against deletion. A refusal is the spec's DENIED (403).
 * Callers check and then write with no `await` in between, so no request can slip in.
 */
export type Action = 'read' | 'write' | 'delete';

/** The attribute that forbids `action`, or undefined when it is allowed. */
function blockingAttribute(a: ChangeableAttributes, action: Action): keyof ChangeableAttributes | undefined {
  if (action === 'read') return a.readEnabled ? undefined : 'readEnabled';
  if (!a.writeEnabled) return 'writeEnabled';
  if (action === 'delete' && !a.deleteEnabled) return 'deleteEnabled';
  return undefined;
}

/** `scope`: whether the thing itself is acted on, or something inside it (a repository's content). */
function check(a: ChangeableAttributes | undefined, action: Action, what: string, detail: Record<string, string>, scope: 'itself' | 'content' = 'itself'): void {
  const attribute = a && blockingAttribute(a, action);
  if (!attribute) return;
  const verb = action === 'read' ? 'pulled' : action === 'write' ? 'changed' : 'deleted';
  const consequence = scope === 'itself' ? ` and cannot be ${verb}` : `: nothing in it can be ${verb}`;
  throw new RegistryError('DENIED', `${what} is locked (${attribute}: false)${consequence}`, {
    detail: { ...detail, attribute, action },
  });
}

/** The repository allows `action` on what it holds (a repository not created yet allows everything). */
export function assertRepository(meta: MetadataStore, repo: string, action: Action): void {
  check(meta.attributesOf({ repo }), action, `repository ${repo}`, { name: repo }, 'content');
}

/** Pulling a manifest (by digest, or through `tag`): repository, tag and manifest must all be readable. */
export function assertReadable(meta: MetadataStore, repo: string, digest: string, tag?: string): void {
  assertRepository(meta, repo, 'read');
  if (tag !== undefined) check(meta.attributesOf({ repo, tag }), 'read', `tag ${repo}:${tag}`, { name: repo, tag });
  check(meta.attributesOf({ repo, digest }), 'read', `manifest ${repo}@${digest}`, { name: repo, digest });
}

/** Pushing a manifest, optionally under `tag`: the repository and an existing tag must be writable. */
export function assertTagWritable(meta: MetadataStore, repo: string, tag: string | undefined): void {
  assertRepository(meta, repo, 'write');
  if (tag !== undefined) check(meta.attributesOf({ repo, tag }), 'write', `tag ${repo}:${tag}`, { name: repo, tag });
}

/** Removing a tag (the manifest stays). */
export function assertTagDeletable(meta: MetadataStore, repo: string, tag: string): void {
  assertRepository(meta, repo, 'delete');
  check(meta.attributesOf({ repo, tag }), 'delete', `tag ${repo}:${tag}`, { name: repo, tag });
}

/** Removing a manifest also removes its tags, so none of them may be locked either. */
export function assertManifestDeletable(meta: MetadataStore, repo: string, digest: string): void {
  assertRepository(meta, repo, 'delete');
  check(meta.attributesOf({ repo, digest }), 'delete', `manifest ${repo}@${digest}`, { name: repo, digest });
  for (const t of meta.tagRecords(repo, { order: 'name', after: '', limit: -1, digest, includeHidden: true }) ?? []) {
    check(t.attributes, 'delete', `tag ${repo}:${t.name} of manifest ${digest}`, { name: repo, tag: t.name, digest });
  }
}

/** Removing a whole repository: nothing in it may be locked against deletion. */
export function assertRepositoryDeletable(meta: MetadataStore, repo: string): void {
  check(meta.attributesOf({ repo }), 'delete', `repository ${repo}`, { name: repo });
  for (const item of meta.lockedItems(repo)) {
    const what = item.kind === 'tag' ? `tag ${repo}:${item.ref}` : `manifest ${repo}@${item.ref}`;
    check(item.attributes, 'delete', `${what} (in repository ${repo})`, { name: repo, [item.kind === 'tag' ? 'tag' : 'digest']: item.ref });
  }
}
