import Database from 'better-sqlite3';
import { INDEX_TYPES, SIGNATURE_TYPES } from '../../oci/mediatypes.js';
import type {
  AttributeTarget,
  ChangeableAttributes,
  ListOrder,
  ListQuery,
  LockedItem,
  ManifestRecord,
  ManifestSummary,
  PlatformReference,
  RepositoryRecord,
  TagRecord,
  ManifestReference,
  ManifestWithBytes,
  MetadataStore,
  NewManifest,
  Referrer,
  UploadRecord,
} from './types.js';

/** The changeable attributes, one 0/1 column each, on repositories, manifests and tags. */
const ATTRIBUTES = [
  ['deleteEnabled', 'delete_enabled'],
  ['writeEnabled', 'write_enabled'],
  ['readEnabled', 'read_enabled'],
  ['listEnabled', 'list_enabled'],
] as const;
const ATTRIBUTE_DDL = ATTRIBUTES.map(([, col]) => `${col} INTEGER NOT NULL DEFAULT 1`).join(',\n  ');
const ATTRIBUTE_COLUMNS = ATTRIBUTES.map(([, col]) => col).join(', ');
const NOT_ALL_ENABLED = `NOT (${ATTRIBUTES.map(([, col]) => col).join(' AND ')})`;

const sqlList = (values: Iterable<string>) => [...values].map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repositories (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ${ATTRIBUTE_DDL}
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
  ${ATTRIBUTE_DDL},
  PRIMARY KEY (repo, digest)
);
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject) WHERE subject IS NOT NULL;
-- The metadata API lists by last update, both ways, and pages from a (time, digest) cursor.
CREATE INDEX IF NOT EXISTS manifests_updated ON manifests(repo, updated_at, digest);

CREATE TABLE IF NOT EXISTS tags (
  repo TEXT NOT NULL,
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ${ATTRIBUTE_DDL},
  PRIMARY KEY (repo, name),
  FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_digest ON tags(repo, digest);
-- The spec lists tags in lexical order, i.e. case-insensitive; equal names fall back to byte order.
CREATE INDEX IF NOT EXISTS tags_lexical ON tags(repo, name COLLATE NOCASE, name);
CREATE INDEX IF NOT EXISTS tags_updated ON tags(repo, updated_at, name);

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

interface AttributeRow {
  delete_enabled: number;
  write_enabled: number;
  read_enabled: number;
  list_enabled: number;
}

interface TagRow extends AttributeRow {
  repo: string;
  name: string;
  digest: string;
  created_at: number;
  updated_at: number;
  signed: number;
}

interface SummaryRow extends ManifestRow, AttributeRow {
  tag_names: string;
  platforms: string;
}

function toAttributes(r: AttributeRow): ChangeableAttributes {
  return {
    deleteEnabled: r.delete_enabled === 1,
    writeEnabled: r.write_enabled === 1,
    readEnabled: r.read_enabled === 1,
    listEnabled: r.list_enabled === 1,
  };
}

function toTag(r: TagRow): TagRecord {
  return {
    repo: r.repo,
    name: r.name,
    digest: r.digest,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    signed: r.signed === 1,
    attributes: toAttributes(r),
  };
}

function toSummary(r: SummaryRow): ManifestSummary {
  return {
    ...toRecord(r),
    tags: JSON.parse(r.tag_names) as string[],
    platforms: JSON.parse(r.platforms) as PlatformReference[],
    attributes: toAttributes(r),
  };
}

/**
 * Brings a data directory written by an earlier version up to this schema, idempotently: adds the
 * attribute columns where missing, and (schema version 1) recomputes image sizes, which used to
 * count the manifest's own bytes; now an image is config + layers and an index its children's sum.
 */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    for (const table of ['repositories', 'manifests', 'tags']) {
      const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
      for (const [, col] of ATTRIBUTES) {
        if (!have.has(col)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${col} INTEGER NOT NULL DEFAULT 1`);
      }
    }
    if ((db.pragma('user_version', { simple: true }) as number) < 1) {
      const indexTypes = sqlList(INDEX_TYPES);
      db.exec(`UPDATE manifests SET image_size = image_size - size WHERE media_type NOT IN (${indexTypes})`);
      // Children before parents: repeat until nested indexes settle (the graph has no cycles).
      const childSum = `(SELECT coalesce(sum(c.image_size), 0) FROM manifest_refs r
        JOIN manifests c ON c.repo = r.repo AND c.digest = r.child
        WHERE r.repo = manifests.repo AND r.digest = manifests.digest AND r.kind = 'manifest')`;
      const settle = db.prepare(`UPDATE manifests SET image_size = ${childSum} WHERE media_type IN (${indexTypes}) AND image_size != ${childSum}`);
      for (let i = 0; i < 64 && settle.run().changes > 0; i++);
      db.pragma('user_version = 1');
    }
  })();
}

/** The SQL of one listing order: the cursor condition (after @after, at @afterTime) and ORDER BY. */
function orderSql(order: ListOrder, key: string, nameOrder: { after: string; orderBy: string }): { after: string; orderBy: string } {
  if (order === 'name') return nameOrder;
  const [cmp, dir] = order === 'timeasc' ? ['>', 'ASC'] : ['<', 'DESC'];
  return {
    after: `(@afterTime IS NULL OR updated_at ${cmp} @afterTime OR (updated_at = @afterTime AND ${key} ${cmp} @after))`,
    orderBy: `updated_at ${dir}, ${key} ${dir}`,
  };
}

const LIST_ORDERS: ListOrder[] = ['name', 'timeasc', 'timedesc'];

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

const TAG_SELECT = `SELECT repo, name, digest, created_at, updated_at, ${ATTRIBUTE_COLUMNS},
  EXISTS (SELECT 1 FROM manifests s WHERE s.repo = tags.repo AND s.subject = tags.digest
    AND coalesce(s.artifact_type, s.config_media_type) IN (${sqlList(SIGNATURE_TYPES)})) AS signed
  FROM tags`;

// Tags and platforms come from indexes in the same statement: a listing never reads manifest bytes.
const SUMMARY_SELECT = `SELECT ${MANIFEST_COLUMNS}, ${ATTRIBUTE_COLUMNS},
  (SELECT json_group_array(t.name ORDER BY t.name COLLATE NOCASE, t.name) FROM tags t
    WHERE t.repo = manifests.repo AND t.digest = manifests.digest AND t.list_enabled = 1) AS tag_names,
  (SELECT json_group_array(json_object('digest', r.child, 'os', r.os, 'architecture', r.architecture, 'variant', r.variant) ORDER BY r.position)
    FROM manifest_refs r WHERE r.repo = manifests.repo AND r.digest = manifests.digest AND r.kind = 'manifest') AS platforms
  FROM manifests`;

const ATTRIBUTE_UPDATE = ATTRIBUTES.map(([key, col]) => `${col} = coalesce(@${key}, ${col})`).join(', ');

/** One prepared statement per listing order over `select`, hiding unlisted rows unless @all. */
function listStatements(
  db: Database.Database,
  select: string,
  key: string,
  filter: string,
  nameOrder: { after: string; orderBy: string },
): Record<ListOrder, Database.Statement> {
  const entries = LIST_ORDERS.map((order) => {
    const o = orderSql(order, key, nameOrder);
    return [order, db.prepare(`${select} WHERE repo = @repo AND (@all OR list_enabled = 1) ${filter} AND ${o.after} ORDER BY ${o.orderBy} LIMIT @limit`)];
  });
  return Object.fromEntries(entries) as Record<ListOrder, Database.Statement>;
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
    migrate(this.db);
    this.sessionsDb = new Database(path);
    this.sessionsDb.pragma('synchronous = NORMAL');
    this.sessionsDb.pragma('busy_timeout = 5000');
    const db = this.db;
    const sessions = this.sessionsDb;
    this.q = {
      listRepos: db.prepare('SELECT name FROM repositories WHERE name > ? AND list_enabled = 1 ORDER BY name LIMIT ?').pluck(),
      repoInfo: db.prepare(`SELECT name, created_at, updated_at, ${ATTRIBUTE_COLUMNS},
        (SELECT count(*) FROM manifests m WHERE m.repo = repositories.name) AS manifest_count,
        (SELECT count(*) FROM tags t WHERE t.repo = repositories.name) AS tag_count
        FROM repositories WHERE name = ?`),
      repoManifestDigests: db.prepare('SELECT digest FROM manifests WHERE repo = ? ORDER BY digest').pluck(),
      repoTagNames: db.prepare('SELECT name FROM tags WHERE repo = ? ORDER BY name COLLATE NOCASE, name').pluck(),
      deleteRepo: db.prepare('DELETE FROM repositories WHERE name = ?'),
      tagTime: db.prepare('SELECT updated_at FROM tags WHERE repo = ? AND name = ?').pluck(),
      manifestTime: db.prepare('SELECT updated_at FROM manifests WHERE repo = ? AND digest = ?').pluck(),
      tagInfo: db.prepare(`${TAG_SELECT} WHERE repo = ? AND name = ?`),
      // /v2 tags/list wants names only: walk the lexical index, with none of the metadata columns.
      tagNames: db.prepare(
        `SELECT name FROM tags WHERE repo = @repo AND list_enabled = 1
           AND name COLLATE NOCASE >= @after AND (name COLLATE NOCASE > @after OR name > @after)
         ORDER BY name COLLATE NOCASE, name LIMIT @limit`,
      ).pluck(),
      tagLists: listStatements(db, TAG_SELECT, 'name', 'AND (@digest IS NULL OR digest = @digest)', {
        after: 'name COLLATE NOCASE >= @after AND (name COLLATE NOCASE > @after OR name > @after)',
        orderBy: 'name COLLATE NOCASE, name',
      }),
      manifestSummary: db.prepare(`${SUMMARY_SELECT} WHERE repo = ? AND digest = ?`),
      repoAttributes: db.prepare(`SELECT ${ATTRIBUTE_COLUMNS} FROM repositories WHERE name = ?`),
      tagAttributes: db.prepare(`SELECT ${ATTRIBUTE_COLUMNS} FROM tags WHERE repo = ? AND name = ?`),
      manifestAttributes: db.prepare(`SELECT ${ATTRIBUTE_COLUMNS} FROM manifests WHERE repo = ? AND digest = ?`),
      manifestLists: listStatements(db, SUMMARY_SELECT, 'digest', '', { after: 'digest > @after', orderBy: 'digest' }),
      setAttributes: {
        repository: db.prepare(`UPDATE repositories SET ${ATTRIBUTE_UPDATE} WHERE name = @repo`),
        tag: db.prepare(`UPDATE tags SET ${ATTRIBUTE_UPDATE} WHERE repo = @repo AND name = @tag`),
        manifest: db.prepare(`UPDATE manifests SET ${ATTRIBUTE_UPDATE} WHERE repo = @repo AND digest = @digest`),
      },
      lockedItems: db.prepare(`SELECT 'tag' AS kind, name AS ref, ${ATTRIBUTE_COLUMNS} FROM tags WHERE repo = @repo AND ${NOT_ALL_ENABLED}
        UNION ALL SELECT 'manifest', digest, ${ATTRIBUTE_COLUMNS} FROM manifests WHERE repo = @repo AND ${NOT_ALL_ENABLED}`),
      repoExists: db.prepare('SELECT 1 FROM repositories WHERE name = ?').pluck(),
      ensureRepo: db.prepare(
        'INSERT INTO repositories (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at',
      ),
      repoBlobSize: db.prepare('SELECT size FROM repo_blobs WHERE repo = ? AND digest = ?').pluck(),
      blobHolders: db.prepare('SELECT repo, size FROM repo_blobs WHERE digest = ? ORDER BY repo LIMIT ?'),
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

  repositoryInfo(repo: string): RepositoryRecord | undefined {
    const r = this.q.repoInfo.get(repo) as
      | (AttributeRow & { name: string; created_at: number; updated_at: number; manifest_count: number; tag_count: number })
      | undefined;
    if (!r) return undefined;
    return {
      name: r.name,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      manifestCount: r.manifest_count,
      tagCount: r.tag_count,
      attributes: toAttributes(r),
    };
  }

  deleteRepository(repo: string): { manifests: string[]; tags: string[] } | undefined {
    return this.db.transaction(() => {
      const manifests = this.q.repoManifestDigests.all(repo) as string[];
      const tags = this.q.repoTagNames.all(repo) as string[];
      // Blob links, manifests, their tags and references go with it (ON DELETE CASCADE).
      if (this.q.deleteRepo.run(repo).changes === 0) return undefined;
      return { manifests, tags };
    })();
  }

  attributesOf(target: { repo: string; tag?: string; digest?: string }): ChangeableAttributes | undefined {
    const row = (
      target.tag !== undefined
        ? this.q.tagAttributes.get(target.repo, target.tag)
        : target.digest !== undefined
          ? this.q.manifestAttributes.get(target.repo, target.digest)
          : this.q.repoAttributes.get(target.repo)
    ) as AttributeRow | undefined;
    return row && toAttributes(row);
  }

  repoBlobSize(repo: string, digest: string): number | undefined {
    return this.q.repoBlobSize.get(repo, digest) as number | undefined;
  }

  blobHolders(digest: string, limit: number): { repo: string; size: number }[] {
    return this.q.blobHolders.all(digest, limit) as { repo: string; size: number }[];
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
    return this.q.tagNames.all({ repo, after, limit }) as string[];
  }

  tagInfo(repo: string, tag: string): TagRecord | undefined {
    const row = this.q.tagInfo.get(repo, tag) as TagRow | undefined;
    return row ? toTag(row) : undefined;
  }

  tagRecords(repo: string, query: ListQuery): TagRecord[] | undefined {
    const params = this.listParams(repo, query, this.q.tagTime);
    if (!params) return undefined;
    return (this.q.tagLists[query.order].all({ ...params, digest: query.digest ?? null }) as TagRow[]).map(toTag);
  }

  manifestSummary(repo: string, digest: string): ManifestSummary | undefined {
    const row = this.q.manifestSummary.get(repo, digest) as SummaryRow | undefined;
    return row ? toSummary(row) : undefined;
  }

  manifestSummaries(repo: string, query: ListQuery): ManifestSummary[] | undefined {
    const params = this.listParams(repo, query, this.q.manifestTime);
    if (!params) return undefined;
    return (this.q.manifestLists[query.order].all(params) as SummaryRow[]).map(toSummary);
  }

  /** Bind parameters of a listing; a time order starts after the time of the item `after` names. */
  private listParams(repo: string, query: ListQuery, timeOf: Database.Statement) {
    let afterTime: number | null = null;
    if (query.order !== 'name' && query.after !== '') {
      const t = timeOf.get(repo, query.after) as number | undefined;
      if (t === undefined) return undefined;
      afterTime = t;
    }
    return { repo, after: query.after, afterTime, limit: query.limit, all: query.includeHidden ? 1 : 0 };
  }

  setAttributes(target: AttributeTarget, patch: Partial<ChangeableAttributes>): boolean {
    const values = Object.fromEntries(ATTRIBUTES.map(([key]) => [key, patch[key] === undefined ? null : Number(patch[key])]));
    return this.q.setAttributes[target.kind].run({ ...target, ...values }).changes > 0;
  }

  lockedItems(repo: string): LockedItem[] {
    const rows = this.q.lockedItems.all({ repo }) as (AttributeRow & { kind: 'tag' | 'manifest'; ref: string })[];
    return rows.map((r) => ({ kind: r.kind, ref: r.ref, attributes: toAttributes(r) }));
  }

  references(repo: string, digest: string): ManifestReference[] {
    return this.q.references.all(repo, digest) as ManifestReference[];
  }

  referrers(repo: string, subject: string, artifactType?: string): Referrer[] {
    const rows = this.q.referrers.all({ repo, subject, type: artifactType ?? null }) as (ManifestRow & { referrer_type: string | null })[];
    return rows.map((r) => ({ ...toRecord(r), referrerType: r.referrer_type }));
  }
}
