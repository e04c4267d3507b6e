import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerConfig } from '../../src/registry/config.js';
import { startServer, type RunningServer } from '../../src/registry/server.js';

export interface TestServer extends RunningServer {
  dataDir: string;
  /** `127.0.0.1:PORT`, the form image references use. */
  host: string;
  stop(): Promise<void>;
}

/** A real Manifold server on a free loopback port with a fresh data directory. */
export async function startTestServer(config: Partial<ServerConfig> = {}): Promise<TestServer> {
  const dataDir = config.dataDir ?? (await mkdtemp(join(tmpdir(), 'manifold-test-')));
  const running = await startServer({ listen: '127.0.0.1:0', logLevel: 'silent', fsync: false, ...config, dataDir });
  return {
    ...running,
    dataDir,
    host: running.address,
    async stop() {
      await running.close();
      if (!config.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
