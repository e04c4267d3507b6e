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
  /** Manifest + config + layers; for an index, itself plus its children's image sizes. */
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

  listRepositories(after: string, limit: number): string[];
  repositoryExists(repo: string): boolean;

  /** Size of a blob linked to `repo`, or undefined. */
  repoBlobSize(repo: string, digest: string): number | undefined;
  /** Size of a blob linked to any repository, or undefined. */
  anyBlobSize(digest: string): number | undefined;
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
  listTags(repo: string, after: string, limit: number): string[];
  references(repo: string, digest: string): ManifestReference[];
  /** Manifests whose subject is `subject`, optionally only those of one artifact type. */
  referrers(repo: string, subject: string, artifactType?: string): Referrer[];
}
