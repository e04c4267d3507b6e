/** Server settings, with their defaults. `cli/serve` fills them from flags, environment and a file. */
export interface ServerConfig {
  /** host:port */
  listen: string;
  dataDir: string;
  logLevel: string;
  /** Upload sessions untouched for this long are purged with their staging files. */
  uploadMaxAgeMs: number;
  /** Manifests larger than this are refused with 413. */
  maxManifestBytes: number;
  /** Advertised as OCI-Chunk-Min-Length when above 0. */
  chunkMinLength: number;
  /** fsync blobs before they become visible, and metadata commits before they are acknowledged. */
  fsync: boolean;
  /** Blobs nothing refers to are removed after this long (so in-flight pushes can still link them). */
  gcGraceMs: number;
  /** How often the janitor (upload purge, blob GC) runs. */
  janitorIntervalMs: number;
  /** Page size of `_catalog` and the `/acr/v1` listings when the client gives no `n`. */
  catalogPageSize: number;
  /** `POST ?mount=` without `from` links a blob the registry already holds in another repository. */
  autoMount: boolean;
  /** Start on a non-loopback address with no users or tokens (anyone could push and delete). */
  allowAnonymousPush: boolean;
  /** Repository patterns anyone may pull without credentials (`*` for every repository). */
  anonymousPull: string[];
  /** The `service` of auth challenges and the audience of the registry's tokens. */
  authService: string;
  /** Token realm URL to advertise; empty: built from each request's Host. */
  authRealm: string;
  /** Lifetime of access tokens from /oauth2/token. */
  tokenTtlMs: number;
  /** Failed logins from one address within a minute before it is locked out for a minute. */
  loginFailureLimit: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  listen: '127.0.0.1:5000',
  dataDir: './data',
  logLevel: 'warn',
  uploadMaxAgeMs: 24 * 3600 * 1000,
  maxManifestBytes: 4 * 1024 * 1024,
  chunkMinLength: 0,
  fsync: true,
  gcGraceMs: 3600 * 1000,
  janitorIntervalMs: 10 * 60 * 1000,
  catalogPageSize: 1000,
  autoMount: true,
  allowAnonymousPush: false,
  anonymousPull: [],
  authService: 'manifold',
  authRealm: '',
  tokenTtlMs: 300 * 1000,
  loginFailureLimit: 10,
};
