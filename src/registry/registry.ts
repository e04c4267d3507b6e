import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { FilesystemBlobStore } from '../store/blobs/fs.js';
import { SqliteAuthStore } from '../store/auth/sqlite.js';
import { SqliteMetadataStore } from '../store/meta/sqlite.js';
import { AccessControl } from './auth/access.js';
import { AuditLog } from './auth/audit.js';
import { TokenSigner } from './auth/signing.js';
import { ImportJobs } from './imports/jobs.js';
import { DEFAULT_CONFIG, type ServerConfig } from './config.js';
import type { RegistryServices } from './context.js';
import { UploadService } from './uploads.js';

/** Opens the stores under the data directory and wires the services handlers use. */
export async function openRegistry(partial: Partial<ServerConfig> = {}, log?: Logger): Promise<RegistryServices> {
  const config = { ...DEFAULT_CONFIG, ...partial };
  await mkdir(config.dataDir, { recursive: true });
  const blobs = new FilesystemBlobStore(config.dataDir, { fsync: config.fsync });
  await blobs.init();
  const meta = new SqliteMetadataStore(join(config.dataDir, 'metadata.db'), { durable: config.fsync });
  const access = new AccessControl(
    new SqliteAuthStore(join(config.dataDir, 'auth.db')),
    await TokenSigner.open(config.dataDir),
    {
      anonymousPull: config.anonymousPull,
      service: config.authService,
      realm: config.authRealm || undefined,
      tokenTtlSeconds: Math.max(1, Math.round(config.tokenTtlMs / 1000)),
      loginFailureLimit: config.loginFailureLimit,
    },
    new AuditLog(config.dataDir),
  );
  return {
    config,
    meta,
    blobs,
    uploads: new UploadService(meta, blobs),
    access,
    imports: new ImportJobs(),
    log: log ?? pino({ level: config.logLevel }),
  };
}
