import Database from 'better-sqlite3';
import type {
  ManifestRecord,
  ManifestReference,
  ManifestWithBytes,
  MetadataStore,
  NewManifest,
  Referrer,
  UploadRecord,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repositories (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A blob is visible in a repository only through a link (upload, mount or manifest push).
CREATE TABLE IF NOT EXISTS repo_blobs (
  repo TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs(digest);

CREATE TABLE IF NOT EXISTS manifests (
  repo TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  artifact_type TEXT,
  config_media_type TEXT,
  config_digest TEXT,
  subject TEXT,
  size INTEGER NOT NULL,
  image_size INTEGER NOT NULL,
  os TEXT,
  architecture TEXT,
  variant TEXT,
  annotations TEXT,
  bytes BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo, digest)
);
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject) WHERE subject IS NOT NULL;

CREATE TABLE IF NOT EXISTS tags (
  repo TEXT NOT NULL,
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo, name),
  FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_digest ON tags(repo, digest);
-- The spec lists tags in lexical order, i.e. case-insensitive; equal names fall back to byte order.
CREATE INDEX IF NOT EXISTS tags_lexical ON tags(repo, name COLLATE NOCASE, name);

-- What a manifest points at: config and layers (blob), or an index's children (manifest).
CREATE TABLE IF NOT EXISTS manifest_refs (
  repo TEXT NOT NULL,
  digest TEXT NOT NULL,
  position INTEGER NOT NULL,
  child TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  os TEXT,
  architecture TEXT,
  variant TEXT,
  PRIMARY KEY (repo, digest, position),
  FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifest_refs_child ON manifest_refs(child);

CREATE TABLE IF NOT EXISTS uploads (
  id TEXT PRIMARY KEY,
  repo TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

const MANIFEST_COLUMNS = `repo, digest, media_type, artifact_type, config_media_type, config_digest, subject,
  size, image_size, os, architecture, variant, annotations, created_at, updated_at`;

interface ManifestRow {
  repo: string;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  config_media_type: string | null;
  config_digest: string | null;
  subject: string | null;
  size: number;
  image_size: number;
  os: string | null;
  architecture: string | null;
  variant: string | null;
  annotations: string | null;
  created_at: number;
  updated_at: number;
  bytes?: Buffer;
}

function toRecord(r: ManifestRow): ManifestRecord {
  return {
    repo: r.repo,
    digest: r.digest,
    mediaType: r.media_type,
    artifactType: r.artifact_type,
    configMediaType: r.config_media_type,
    configDigest: r.config_digest,
    subject: r.subject,
    size: r.size,
    imageSize: r.image_size,
    os: r.os,
    architecture: r.architecture,
    variant: r.variant,
    annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The default metadata store: one SQLite file in WAL mode, statements prepared once. */
export class SqliteMetadataStore implements MetadataStore {
  private readonly db: Database.Database;
  /**
   * A second connection for upload-session rows. They are bookkeeping, not data: losing the last
   * ones on power loss only makes a client restart an upload, so their commits skip the fsync
   * that the durable connection pays on every push.
   */
  private readonly sessionsDb: Database.Database;
  private readonly q;

  /** `durable`: every commit reaches the disk before it returns (a push acknowledged survives power loss). */
  constructor(path: string, opts: { durable: boolean } = { durable: true }) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash but may lose the last commits on power loss.
    this.db.pragma(`synchronous = ${opts.durable ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.sessionsDb = new Database(path);
    this.sessionsDb.pragma('synchronous = NORMAL');
    this.sessionsDb.pragma('busy_timeout = 5000');
    const db = this.db;
    const sessions = this.sessionsDb;
    this.q = {
      listRepos: db.prepare('SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?').pluck(),
      repoExists: db.prepare('SELECT 1 FROM repositories WHERE name = ?').pluck(),
      ensureRepo: db.prepare(
        'INSERT INTO repositories (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at',
      ),
      repoBlobSize: db.prepare('SELECT size FROM repo_blobs WHERE repo = ? AND digest = ?').pluck(),
      anyBlobSize: db.prepare('SELECT size FROM repo_blobs WHERE digest = ? LIMIT 1').pluck(),
      linkBlob: db.prepare('INSERT OR IGNORE INTO repo_blobs (repo, digest, size, created_at) VALUES (?, ?, ?, ?)'),
      unlinkBlob: db.prepare('DELETE FROM repo_blobs WHERE repo = ? AND digest = ?'),
      blobRefCount: db.prepare(
        "SELECT (SELECT count(*) FROM repo_blobs WHERE digest = ?) + (SELECT count(*) FROM manifest_refs WHERE child = ? AND kind = 'blob')",
      ).pluck(),
      createUpload: sessions.prepare('INSERT INTO uploads (id, repo, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      getUpload: sessions.prepare('SELECT id, repo, created_at AS createdAt, updated_at AS updatedAt FROM uploads WHERE id = ?'),
      touchUpload: sessions.prepare('UPDATE uploads SET updated_at = ? WHERE id = ?'),
      deleteUpload: sessions.prepare('DELETE FROM uploads WHERE id = ?'),
      oldUploads: sessions.prepare('SELECT id, repo, created_at AS createdAt, updated_at AS updatedAt FROM uploads WHERE updated_at < ?'),
      getManifest: db.prepare(`SELECT ${MANIFEST_COLUMNS}, bytes FROM manifests WHERE repo = ? AND digest = ?`),
      manifestInfo: db.prepare(`SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repo = ? AND digest = ?`),
      resolveTag: db.prepare('SELECT digest FROM tags WHERE repo = ? AND name = ?').pluck(),
      insertManifest: db.prepare(`INSERT INTO manifests (${MANIFEST_COLUMNS}, bytes)
        VALUES (@repo, @digest, @mediaType, @artifactType, @configMediaType, @configDigest, @subject,
                @size, @imageSize, @os, @architecture, @variant, @annotations, @now, @now, @bytes)
        ON CONFLICT(repo, digest) DO UPDATE SET updated_at = excluded.updated_at`),
      insertRef: db.prepare(`INSERT OR IGNORE INTO manifest_refs
        (repo, digest, position, child, kind, media_type, size, os, architecture, variant)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      upsertTag: db.prepare(`INSERT INTO tags (repo, name, digest, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(repo, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`),
      deleteManifest: db.prepare('DELETE FROM manifests WHERE repo = ? AND digest = ?'),
      deleteTag: db.prepare('DELETE FROM tags WHERE repo = ? AND name = ?'),
      listTags: db.prepare(`SELECT name FROM tags
        WHERE repo = @repo AND name COLLATE NOCASE >= @after AND (name COLLATE NOCASE > @after OR name > @after)
        ORDER BY name COLLATE NOCASE, name LIMIT @limit`).pluck(),
      references: db.prepare(`SELECT child AS digest, kind, media_type AS mediaType, size, os, architecture, variant
        FROM manifest_refs WHERE repo = ? AND digest = ? ORDER BY position`),
      // The spec's artifact type of a referrer: its artifactType, else its config's media type.
      referrers: db.prepare(`SELECT ${MANIFEST_COLUMNS}, coalesce(artifact_type, config_media_type) AS referrer_type
        FROM manifests WHERE repo = @repo AND subject = @subject AND (@type IS NULL OR referrer_type = @type)
        ORDER BY created_at, digest`),
    };
  }

  close(): void {
    this.sessionsDb.close();
    this.db.close();
  }

  listRepositories(after: string, limit: number): string[] {
    return this.q.listRepos.all(after, limit) as string[];
  }

  repositoryExists(repo: string): boolean {
    return this.q.repoExists.get(repo) !== undefined;
  }

  repoBlobSize(repo: string, digest: string): number | undefined {
    return this.q.repoBlobSize.get(repo, digest) as number | undefined;
  }

  anyBlobSize(digest: string): number | undefined {
    return this.q.anyBlobSize.get(digest) as number | undefined;
  }

  linkBlob(repo: string, digest: string, size: number): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.q.ensureRepo.run(repo, now, now);
      this.q.linkBlob.run(repo, digest, size, now);
    })();
  }

  unlinkBlob(repo: string, digest: string): boolean {
    return this.q.unlinkBlob.run(repo, digest).changes > 0;
  }

  blobInUse(digest: string): boolean {
    return (this.q.blobRefCount.get(digest, digest) as number) > 0;
  }

  createUpload(id: string, repo: string): UploadRecord {
    const now = Date.now();
    this.q.createUpload.run(id, repo, now, now);
    return { id, repo, createdAt: now, updatedAt: now };
  }

  getUpload(id: string): UploadRecord | undefined {
    return this.q.getUpload.get(id) as UploadRecord | undefined;
  }

  touchUpload(id: string): void {
    this.q.touchUpload.run(Date.now(), id);
  }

  deleteUpload(id: string): void {
    this.q.deleteUpload.run(id);
  }

  uploadsOlderThan(time: number): UploadRecord[] {
    return this.q.oldUploads.all(time) as UploadRecord[];
  }

  getManifest(repo: string, digest: string): ManifestWithBytes | undefined {
    const row = this.q.getManifest.get(repo, digest) as ManifestRow | undefined;
    return row ? { ...toRecord(row), bytes: row.bytes! } : undefined;
  }

  manifestInfo(repo: string, digest: string): ManifestRecord | undefined {
    const row = this.q.manifestInfo.get(repo, digest) as ManifestRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  resolveTag(repo: string, tag: string): string | undefined {
    return this.q.resolveTag.get(repo, tag) as string | undefined;
  }

  putManifest(m: NewManifest): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.q.ensureRepo.run(m.repo, now, now);
      const inserted = this.q.insertManifest.run({
        repo: m.repo,
        digest: m.digest,
        mediaType: m.mediaType,
        artifactType: m.artifactType,
        configMediaType: m.configMediaType,
        configDigest: m.configDigest,
        subject: m.subject,
        size: m.bytes.length,
        imageSize: m.imageSize,
        os: m.os,
        architecture: m.architecture,
        variant: m.variant,
        annotations: m.annotations ? JSON.stringify(m.annotations) : null,
        now,
        bytes: m.bytes,
      });
      if (inserted.changes > 0) {
        m.references.forEach((r, i) => {
          this.q.insertRef.run(m.repo, m.digest, i, r.digest, r.kind, r.mediaType, r.size, r.os, r.architecture, r.variant);
        });
      }
      if (m.tag !== undefined) this.q.upsertTag.run(m.repo, m.tag, m.digest, now, now);
    })();
  }

  deleteManifest(repo: string, digest: string): boolean {
    // Tags and references go with it (ON DELETE CASCADE).
    return this.q.deleteManifest.run(repo, digest).changes > 0;
  }

  deleteTag(repo: string, tag: string): boolean {
    return this.q.deleteTag.run(repo, tag).changes > 0;
  }

  listTags(repo: string, after: string, limit: number): string[] {
    return this.q.listTags.all({ repo, after, limit }) as string[];
  }

  references(repo: string, digest: string): ManifestReference[] {
    return this.q.references.all(repo, digest) as ManifestReference[];
  }

  referrers(repo: string, subject: string, artifactType?: string): Referrer[] {
    const rows = this.q.referrers.all({ repo, subject, type: artifactType ?? null }) as (ManifestRow & { referrer_type: string | null })[];
    return rows.map((r) => ({ ...toRecord(r), referrerType: r.referrer_type }));
  }
}
