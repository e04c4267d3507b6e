import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { RegistryError } from '../oci/errors.js';
import type { ServerConfig } from './config.js';
import type { RegistryServices } from './context.js';
import { sendError } from './http.js';
import { scheduleJanitor } from './janitor.js';
import { openRegistry } from './registry.js';
import { routeAcr } from './acr/router.js';
import { isUiPath, serveUi } from './ui.js';
import { routeV2 } from './v2/router.js';

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';

async function handle(req: IncomingMessage, res: ServerResponse, services: RegistryServices): Promise<void> {
  res.setHeader(API_VERSION_HEADER, 'registry/2.0');
  const started = process.hrtime.bigint();
  try {
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    // Route on the path as sent: URL parsing would resolve `.` and `..` segments, and a name
    // like `a/./b` must be refused, not quietly read as `a/b`.
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (path === '/v2' || path.startsWith('/v2/')) {
      await routeV2(req, res, path === '/v2' ? '/v2/' : path, url, services);
    } else if (path === '/acr/v1' || path.startsWith('/acr/v1/')) {
      await routeAcr(req, res, path === '/acr/v1' ? '/acr/v1/' : path, url, services);
    } else if (isUiPath(path)) {
      await serveUi(req, res, path);
    } else {
      throw new RegistryError('UNSUPPORTED', `no route for ${path.slice(0, 300)}`, { status: 404 });
    }
  } catch (e) {
    const err = e instanceof RegistryError ? e : new RegistryError('UNKNOWN', 'internal server error');
    if (!(e instanceof RegistryError)) services.log.error({ err: e, method: req.method, url: req.url }, 'request failed');
    sendError(req, res, err);
  } finally {
    services.log.debug(
      { method: req.method, url: req.url, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
      'request',
    );
  }
}

export interface RunningServer {
  server: Server;
  services: RegistryServices;
  /** e.g. `127.0.0.1:5000` (the real port when 0 was asked for). */
  address: string;
  url: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be host:port, got ${JSON.stringify(listen)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/** Opens the stores and starts the HTTP server; resolves once it is listening. */
export async function startServer(config: Partial<ServerConfig> = {}, log?: Logger): Promise<RunningServer> {
  const services = await openRegistry(config, log);
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
    void handle(req, res, services);
  });
  // Clients probe with a TLS handshake before falling back to plain HTTP: answer 400, stay up.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      socket.destroy();
    }
  });
  const { host, port } = parseListen(services.config.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stopJanitor = scheduleJanitor(services);
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const address = `${shownHost}:${addr.port}`;
  return {
    server,
    services,
    address,
    url: `http://${address}`,
    async close() {
      stopJanitor();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      services.meta.close();
    },
  };
}
