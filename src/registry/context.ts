import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { BlobStore } from '../store/blobs/types.js';
import type { MetadataStore } from '../store/meta/types.js';
import type { AccessControl, Caller } from './auth/access.js';
import type { ImportJobs } from './imports/jobs.js';
import type { ServerConfig } from './config.js';
import type { UploadService } from './uploads.js';

/** What every handler can reach: the stores and the settings. */
export interface RegistryServices {
  config: ServerConfig;
  meta: MetadataStore;
  blobs: BlobStore;
  uploads: UploadService;
  access: AccessControl;
  imports: ImportJobs;
  log: Logger;
}

/** One API request, routed: `name` is a validated repository name, `ref` the path's last segment. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  services: RegistryServices;
  name: string;
  ref: string;
  /** Who is asking; handlers use it where access depends on more than the route (mounts). */
  caller: Caller;
}
