/** What a build step asks a builder for, and what it gets back. */
import type { Clients } from '../client/transports.js';
import type { Platform } from '../oci/platform.js';
import type { ImageStore } from './store.js';

export type BuilderName = 'builtin' | 'buildah';

export interface BuildRequest {
  /** The build context directory. */
  contextDir: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** Canonical references to store the image under (at least one). */
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  /** `--platform`: the platform to build for. */
  platform?: Platform;
  labels: Record<string, string>;
  /** `auto` picks builtin when the Dockerfile needs nothing executed, else buildah. */
  builder: BuilderName | 'auto';
  noCache: boolean;
  pull: boolean;
  store: ImageStore;
  clients: Clients;
  /** A scratch directory the run owns (buildah's storage lives under it). */
  workDir: string;
  log(line: string): void;
  signal: AbortSignal;
}

export interface BuildResult {
  digest: string;
  /** os/arch[/variant] of the image. */
  platform: string;
  builder: BuilderName;
}
