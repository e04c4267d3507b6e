import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { RegistryError } from '../oci/errors.js';
import { isLoopbackRegistry } from '../oci/reference.js';
import type { ServerConfig } from './config.js';
import type { RegistryServices } from './context.js';
import { sendError } from './http.js';
import { scheduleJanitor } from './janitor.js';
import { openRegistry } from './registry.js';
import { routeAcr } from './acr/router.js';
import { isUiPath, serveUi } from './ui.js';
import { routeV2 } from './v2/router.js';
import { describe, type Caller } from './auth/access.js';
import { handleAdmin } from './auth/admin-api.js';
import { handleImports } from './imports/api.js';
import { handleToken } from './auth/token-endpoint.js';

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';

async function handle(req: IncomingMessage, res: ServerResponse, services: RegistryServices): Promise<void> {
  res.setHeader(API_VERSION_HEADER, 'registry/2.0');
  const started = process.hrtime.bigint();
  let caller: Caller | undefined;
  const path = (req.url ?? '/').split('?', 1)[0]!;
  try {
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    // Route on the path as sent: URL parsing would resolve `.` and `..` segments, and a name
    // like `a/./b` must be refused, not quietly read as `a/b`.
    if (path === '/oauth2/token') {
      await handleToken(req, res, url, services);
    } else if (path === '/v2' || path.startsWith('/v2/')) {
      caller = await services.access.authenticate(req);
      await routeV2(req, res, path === '/v2' ? '/v2/' : path, url, services, caller);
    } else if (path === '/acr/v1' || path.startsWith('/acr/v1/')) {
      caller = await services.access.authenticate(req);
      await routeAcr(req, res, path === '/acr/v1' ? '/acr/v1/' : path, url, services, caller);
    } else if (path === '/manifold/v1/imports' || path.startsWith('/manifold/v1/imports/')) {
      caller = await services.access.authenticate(req);
      await handleImports(req, res, path, services, caller);
    } else if (path.startsWith('/manifold/v1/')) {
      caller = await services.access.authenticate(req);
      await handleAdmin(req, res, path, services, caller);
    } else if (isUiPath(path)) {
      // The page itself is public; everything it shows comes from the API, which checks access.
      await serveUi(req, res, path);
    } else {
      throw new RegistryError('UNSUPPORTED', `no route for ${path.slice(0, 300)}`, { status: 404 });
    }
    if (caller) auditWrite(services, req, res, caller, path);
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

/** Pushes (manifest PUTs), deletes and attribute changes that succeeded go to the audit log. */
function auditWrite(services: RegistryServices, req: IncomingMessage, res: ServerResponse, caller: Caller, path: string): void {
  if (res.statusCode >= 300) return;
  const manifestPut = req.method === 'PUT' && /\/manifests\/[^/]+$/.test(path);
  const event = manifestPut ? 'push' : req.method === 'DELETE' && !path.includes('/blobs/uploads/') ? 'delete' : req.method === 'PATCH' && path.startsWith('/acr/') ? 'update' : undefined;
  if (!event) return;
  const digest = res.getHeader('docker-content-digest');
  services.access.audit.record({ event, who: describe(caller.principal), ip: caller.ip, path, ...(digest ? { digest: String(digest) } : {}) });
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
  if (!isLoopbackRegistry(host.includes(':') ? `[${host}]` : host) && !services.access.enabled && !services.config.allowAnonymousPush) {
    services.meta.close();
    services.access.store.close();
    await services.access.audit.close();
    throw new Error(
      `refusing to listen on ${services.config.listen} with no users or tokens: anyone who can reach it could push and delete images. ` +
        `Create an administrator first (manifold user create NAME --admin --data ${services.config.dataDir}), or pass --allow-anonymous-push true if that is really what you want`,
    );
  }
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
      services.access.store.close();
      await services.access.audit.close();
    },
  };
}
