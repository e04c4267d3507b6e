import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  range?: string;
  status: number | 'cut' | 'corrupted';
}

export type FaultAction =
  /** Forward part of the request body, then drop both connections. */
  | 'cut-request'
  /** Forward part of the response body, then drop the connection. */
  | 'cut-response'
  /** Answer with this status (and Retry-After: 0/1) instead of forwarding. */
  | 503
  | 500
  | 429
  /** Forward, flipping bytes of the response body (same length). */
  | 'corrupt';

export interface Fault {
  match: (method: string, path: string) => boolean;
  action: FaultAction;
  /** Called when the fault fires (e.g. to stop the upstream server). */
  then?: () => void;
}

/**
 * A real HTTP proxy in front of a real server that injects the failures met in the field, each
 * fault used once, in order of the requests it matches. Every request is logged in `seen`.
 */
export class FaultyProxy {
  readonly seen: Seen[] = [];
  faults: Fault[] = [];
  private server!: Server;
  host = '';

  constructor(private readonly upstream: string) {}

  static async start(upstream: string): Promise<FaultyProxy> {
    const p = new FaultyProxy(upstream);
    p.server = createServer((i, o) => p.handle(i, o));
    await new Promise<void>((r) => p.server.listen(0, '127.0.0.1', r));
    p.host = `127.0.0.1:${(p.server.address() as AddressInfo).port}`;
    return p;
  }

  private handle(inbound: IncomingMessage, outbound: ServerResponse): void {
    const path = inbound.url ?? '/';
    const method = inbound.method ?? 'GET';
    const fault = this.faults.find((f) => f.match(method, path));
    if (fault) this.faults = this.faults.filter((f) => f !== fault);
    const entry: Seen = { method, path, range: inbound.headers['content-range'] as string | undefined, status: 0 };
    this.seen.push(entry);
    fault?.then?.();
    if (typeof fault?.action === 'number') {
      entry.status = fault.action;
      inbound.resume();
      outbound.writeHead(fault.action, { 'Content-Type': 'application/json', 'Retry-After': fault.action === 429 ? '1' : '0' });
      outbound.end(JSON.stringify({ errors: [{ code: fault.action === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: 'injected fault' }] }));
      return;
    }
    const upstream = request(this.upstream + path, { method, headers: inbound.headers }, (res) => {
      entry.status = res.statusCode ?? 0;
      outbound.writeHead(res.statusCode ?? 502, res.headers);
      if (fault?.action === 'cut-response') {
        entry.status = 'cut';
        let sent = 0;
        res.on('data', (chunk: Buffer) => {
          sent += chunk.length;
          outbound.write(chunk);
          if (sent > 64 * 1024) {
            res.destroy();
            outbound.socket?.destroy();
          }
        });
        return;
      }
      if (fault?.action === 'corrupt') {
        entry.status = 'corrupted';
        res.on('data', (chunk: Buffer) => outbound.write(Buffer.from(chunk.map((b) => b ^ 0xff))));
        res.on('end', () => outbound.end());
        return;
      }
      res.pipe(outbound);
    });
    upstream.on('error', () => outbound.socket?.destroy());
    if (fault?.action === 'cut-request') {
      entry.status = 'cut';
      let forwarded = 0;
      inbound.on('data', (chunk: Buffer) => {
        forwarded += chunk.length;
        upstream.write(chunk);
        if (forwarded > 16 * 1024) {
          upstream.destroy();
          inbound.socket.destroy();
        }
      });
      return;
    }
    inbound.pipe(upstream);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
