-- The metadata schema of Manifold at e8456d6 (before changeable attributes), to test that a data
-- directory from that version still opens. Copied verbatim from src/store/meta/sqlite.ts of that commit.
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
