import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from './tools.js';

export interface Distribution {
  /** `127.0.0.1:PORT`. */
  host: string;
  url: string;
  stop(): Promise<void>;
  /** Kills the process outright (SIGKILL), as a crash would. */
  crash(): void;
}

export interface DistributionOptions {
  /** Basic auth with these users (bcrypt htpasswd, made by apache2-utils' htpasswd). */
  htpasswd?: Record<string, string>;
  /** Docker token auth: Distribution trusts tokens signed by `certFile`'s key from `realm`. */
  token?: { realm: string; service: string; issuer: string; certFile: string };
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The real CNCF Distribution (`docker-registry`, Debian package) on a loopback port with its own
 * config and storage, for interop tests.
 */
export async function startDistribution(options: DistributionOptions = {}): Promise<Distribution> {
  const dir = await mkdtemp(join(tmpdir(), 'manifold-distribution-'));
  const port = await freePort();
  const auth: string[] = [];
  if (options.htpasswd) {
    const file = join(dir, 'htpasswd');
    const lines = [];
    for (const [user, password] of Object.entries(options.htpasswd)) lines.push((await tool('htpasswd', ['-Bbn', user, password])).trim());
    await writeFile(file, lines.join('\n') + '\n');
    auth.push('auth:', '  htpasswd:', '    realm: test-realm', `    path: ${file}`);
  } else if (options.token) {
    const t = options.token;
    auth.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.certFile}`);
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...auth,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const up = await fetch(`${url}/v2/`).then(
      (r) => r.status === 200 || r.status === 401,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        // Distribution drains open connections on SIGTERM; a client's keep-alive could hold it.
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
    crash() {
      child.kill('SIGKILL');
    },
  };
}
