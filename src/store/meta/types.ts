/** Rows the metadata store hands out. Times are milliseconds since the epoch. */

export interface ManifestRecord {
  repo: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  configMediaType: string | null;
  configDigest: string | null;
  subject: string | null;
  /** Size of the manifest bytes. */
  size: number;
  /** Config + layers; for an index, the sum of its children's image sizes. */
  imageSize: number;
  os: string | null;
  architecture: string | null;
  variant: string | null;
  annotations: Record<string, string> | null;
  createdAt: number;
  updatedAt: number;
}

/** A manifest that names a subject, with the artifact type the referrers API reports for it. */
export interface Referrer extends ManifestRecord {
  /** Its artifactType, else its config's media type (OCI distribution spec, "Listing Referrers"). */
  referrerType: string | null;
}

export interface ManifestWithBytes extends ManifestRecord {
  bytes: Buffer;
}

export interface ManifestReference {
  digest: string;
  kind: 'blob' | 'manifest';
  mediaType: string;
  size: number;
  os: string | null;
  architecture: string | null;
  variant: string | null;
}

export interface NewManifest {
  repo: string;
  digest: string;
  bytes: Buffer;
  mediaType: string;
  artifactType: string | null;
  configMediaType: string | null;
  configDigest: string | null;
  subject: string | null;
  imageSize: number;
  os: string | null;
  architecture: string | null;
  variant: string | null;
  annotations: Record<string, string> | null;
  references: ManifestReference[];
  tag?: string;
}

/**
 * What may be done with a repository, tag or manifest (Azure Container Registry's
 * `changeableAttributes`). All true unless a user locked something.
 */
export interface ChangeableAttributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

export type AttributeTarget =
  | { kind: 'repository'; repo: string }
  | { kind: 'tag'; repo: string; tag: string }
  | { kind: 'manifest'; repo: string; digest: string };

export interface RepositoryRecord {
  name: string;
  createdAt: number;
  updatedAt: number;
  manifestCount: number;
  tagCount: number;
  attributes: ChangeableAttributes;
}

export interface TagRecord {
  repo: string;
  name: string;
  digest: string;
  createdAt: number;
  updatedAt: number;
  /** A signature (Notary v2, cosign) refers to the tagged manifest. */
  signed: boolean;
  attributes: ChangeableAttributes;
}

/** A platform child of an index. */
export interface PlatformReference {
  digest: string;
  os: string | null;
  architecture: string | null;
  variant: string | null;
}

/** A manifest's metadata without its bytes: what the metadata API lists. */
export interface ManifestSummary extends ManifestRecord {
  /** Its listable tags, in lexical order. */
  tags: string[];
  /** An index's children, in order; empty for an image. */
  platforms: PlatformReference[];
  attributes: ChangeableAttributes;
}

/** `name`: tags by lexical name, manifests by digest; the time orders use the last update. */
export type ListOrder = 'name' | 'timeasc' | 'timedesc';

export interface ListQuery {
  order: ListOrder;
  /** Start after this tag name or digest (in the chosen order); '' from the start. */
  after: string;
  /** -1: no limit. */
  limit: number;
  /** Tags only: those pointing at this digest. */
  digest?: string;
  /** Also items whose listEnabled is false (lock checks need them; listings do not). */
  includeHidden?: boolean;
}

/** A tag or manifest of a repository that is not fully enabled. */
export interface LockedItem {
  kind: 'tag' | 'manifest';
  /** Tag name or digest. */
  ref: string;
  attributes: ChangeableAttributes;
}

export interface UploadRecord {
  id: string;
  repo: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * Repositories, manifests, tags, references and upload sessions. Every method is one
 * transaction; a manifest push is one `putManifest` call.
 */
export interface MetadataStore {
  close(): void;

  /** Names of repositories whose listEnabled is true, in order. */
  listRepositories(after: string, limit: number): string[];
  repositoryExists(repo: string): boolean;
  repositoryInfo(repo: string): RepositoryRecord | undefined;
  /**
   * Just the changeable attributes of a repository, tag or manifest (undefined when it does not
   * exist): the lock checks on every pull and push read these, so they must stay one-row lookups.
   */
  attributesOf(target: { repo: string; tag?: string; digest?: string }): ChangeableAttributes | undefined;
  /** Deletes the repository with its manifests, tags and blob links; undefined if it did not exist. */
  deleteRepository(repo: string): { manifests: string[]; tags: string[] } | undefined;

  /** Size of a blob linked to `repo`, or undefined. */
  repoBlobSize(repo: string, digest: string): number | undefined;
  /** Size of a blob linked to any repository, or undefined. */
  /** Repositories that link a blob, with its size (at most `limit`). */
  blobHolders(digest: string, limit: number): { repo: string; size: number }[];
  linkBlob(repo: string, digest: string, size: number): void;
  unlinkBlob(repo: string, digest: string): boolean;
  /** Whether anything (a repository link, a manifest) still needs the blob's bytes. */
  blobInUse(digest: string): boolean;

  createUpload(id: string, repo: string): UploadRecord;
  getUpload(id: string): UploadRecord | undefined;
  touchUpload(id: string): void;
  deleteUpload(id: string): void;
  uploadsOlderThan(time: number): UploadRecord[];

  getManifest(repo: string, digest: string): ManifestWithBytes | undefined;
  manifestInfo(repo: string, digest: string): ManifestRecord | undefined;
  resolveTag(repo: string, tag: string): string | undefined;
  putManifest(m: NewManifest): void;
  deleteManifest(repo: string, digest: string): boolean;
  deleteTag(repo: string, tag: string): boolean;
  /** Names of listable tags in lexical order (the /v2 tags list). */
  listTags(repo: string, after: string, limit: number): string[];
  tagInfo(repo: string, tag: string): TagRecord | undefined;
  /** Tags in the query's order; undefined when the query's `after` names no tag (a time order needs its time). */
  tagRecords(repo: string, query: ListQuery): TagRecord[] | undefined;
  manifestSummary(repo: string, digest: string): ManifestSummary | undefined;
  /** Manifests in the query's order, read from indexed columns only (never the bytes); undefined as for tagRecords. */
  manifestSummaries(repo: string, query: ListQuery): ManifestSummary[] | undefined;
  /** Sets the given attributes; false if the target does not exist. */
  setAttributes(target: AttributeTarget, patch: Partial<ChangeableAttributes>): boolean;
  /** Tags and manifests of the repository with at least one attribute false. */
  lockedItems(repo: string): LockedItem[];
  references(repo: string, digest: string): ManifestReference[];
  /** Manifests whose subject is `subject`, optionally only those of one artifact type. */
  referrers(repo: string, subject: string, artifactType?: string): Referrer[];
}
