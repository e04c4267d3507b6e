/**
 * Manifold vs CNCF Distribution, side by side, in one run: `npm run bench`.
 *
 * Starts both registries as child processes on free loopback ports with fresh data directories,
 * drives them with the same client code (node:http with streams, wrk for request rates), prints
 * a table and writes bench/work/results.json. See bench/README.md for what each figure means.
 *
 * BENCH_QUICK=1 shrinks every size and duration (for checking the script, not for figures).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Settings

const QUICK = process.env.BENCH_QUICK === '1';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MB = 1e6; // figures are in MB = 10^6 bytes (and MB/s)

const BLOB_SIZE = QUICK ? 64 * MiB : 1 * GiB;
const CHUNK_SIZE = QUICK ? 8 * MiB : 64 * MiB;
const BIG_SIZE = QUICK ? 256 * MiB : 4 * GiB;
const WRK_SECONDS = QUICK ? 2 : 10;
const WRK_WARMUP_SECONDS = 1;
const WRK_CONNECTIONS = 64;
const TAGS_WRK_SECONDS = QUICK ? 2 : 5;
const TAGS_WRK_CONNECTIONS = 8;
const TAG_COUNT = QUICK ? 1000 : 10_000;
const TAG_CONCURRENCY = 16;
const PUSH_COUNT = 50;
const SMALL_LAYER_SIZE = 1024;
const RSS_SAMPLE_MS = 50;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', 'work');
const RUN_DIR = join(WORK, `run-${process.pid}`);
const RESULTS_FILE = join(WORK, 'results.json');
const MANIFOLD_BIN = join(ROOT, 'bin', 'manifold.js');
const DISTRIBUTION_BIN = process.env.DISTRIBUTION_BIN ?? '/usr/bin/docker-registry';
/** Extra node flags for Manifold, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (whitespace-separated). */
const MANIFOLD_NODE_ARGS = (process.env.BENCH_MANIFOLD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const DOWNLOAD_REPEATS = 5;
/** Pre-fault memory before each upload (see prefault()); BENCH_PREFAULT=0 measures into cold memory. */
const PREFAULT = process.env.BENCH_PREFAULT !== '0';
const WRK_BIN = process.env.WRK_BIN ?? 'wrk';

const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
};
const ACCEPT_ALL_MANIFESTS = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ');

// ---------------------------------------------------------------------------------------------
// Child processes: tracked so that they die with us, whatever happens.

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function killAllSync(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

process.on('exit', killAllSync);
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping the registries and removing ${RUN_DIR}\n`);
    killAllSync();
    try {
      rmSync(RUN_DIR, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// Registries

interface Target {
  name: 'manifold' | 'distribution';
  label: string;
  host: string;
  port: number;
  child: ChildProcess;
  pid: number;
  dataDir: string;
  stderr: () => string;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolvePort(port));
    });
  });
}

function captureTail(child: ChildProcess): () => string {
  let tail = '';
  const add = (d: Buffer) => {
    tail = (tail + d.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => tail;
}

async function waitReady(t: Omit<Target, 'label'>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (t.child.exitCode !== null || t.child.signalCode !== null) {
      throw new Error(`${t.name} exited (${t.child.exitCode ?? t.child.signalCode}) before answering GET /v2/:\n${t.stderr()}`);
    }
    try {
      const r = await request({ host: t.host, port: t.port }, 'GET', '/v2/', { agent: false, timeoutMs: 2000 });
      if (r.status === 200) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${t.name} did not answer GET /v2/ within ${timeoutMs} ms:\n${t.stderr()}`);
    await sleep(100);
  }
}

async function startManifold(label: string, extraArgs: string[] = []): Promise<Target> {
  const port = await freePort();
  const dataDir = join(RUN_DIR, `${label.replace(/\W+/g, '-')}-data`);
  const child = track(
    spawn(process.execPath, [...MANIFOLD_NODE_ARGS, MANIFOLD_BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const t = { name: 'manifold' as const, label, host: '127.0.0.1', port, child, pid: child.pid!, dataDir, stderr: captureTail(child) };
  await waitReady(t);
  return t;
}

async function startDistribution(): Promise<Target> {
  const port = await freePort();
  const dataDir = join(RUN_DIR, 'distribution-data');
  mkdirSync(dataDir, { recursive: true });
  const configPath = join(RUN_DIR, 'distribution.yml');
  // Distribution's own default config (storage cache: inmemory), filesystem driver, deletes on,
  // no auth, access log off (Manifold does not log requests at its default level either).
  writeFileSync(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dataDir}`,
      '  delete:',
      '    enabled: true',
      '  cache:',
      '    blobdescriptor: inmemory',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = track(spawn(DISTRIBUTION_BIN, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const t = { name: 'distribution' as const, label: 'distribution', host: '127.0.0.1', port, child, pid: child.pid!, dataDir, stderr: captureTail(child) };
  await waitReady(t);
  return t;
}

// ---------------------------------------------------------------------------------------------
// /proc readings

function procStatus(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(Vm\w+|Rss\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, own processes). */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const CLK_TCK = 100;
/** User and system CPU seconds of a process so far (all its threads). */
function cpuSeconds(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK };
  } catch {
    return { user: NaN, sys: NaN };
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP client (node:http, streamed bodies)

interface Endpoint {
  host: string;
  port: number;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: Buffer | string | Readable;
  agent?: http.Agent | false;
  /** Statuses that count as success; anything else rejects with the response body. */
  expect?: number[];
  timeoutMs?: number;
}

function request(ep: Endpoint, method: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const body = opts.body;
    const req = http.request(
      { host: ep.host, port: ep.port, method, path, headers: opts.headers, agent: opts.agent, timeout: opts.timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const reply = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
          if (opts.expect && !opts.expect.includes(reply.status)) {
            if (body instanceof Readable) body.destroy();
            req.destroy();
            reject(new Error(`${method} ${path} -> ${reply.status} (expected ${opts.expect.join('/')}): ${reply.body.toString('utf8').slice(0, 500)}`));
            return;
          }
          resolveReply(reply);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', (e) => {
      if (body instanceof Readable) body.destroy();
      reject(e);
    });
    if (body instanceof Readable) {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    } else {
      req.end(body);
    }
  });
}

/** GET a blob and throw the bytes away; returns the byte count. */
function download(ep: Endpoint, path: string, agent: http.Agent): Promise<{ status: number; bytes: number; digest?: string }> {
  return new Promise((resolveDl, reject) => {
    const req = http.request({ host: ep.host, port: ep.port, method: 'GET', path, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.on('error', reject);
      res.on('end', () => resolveDl({ status: res.statusCode ?? 0, bytes, digest: res.headers['docker-content-digest'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The path of an upload `Location` (absolute for Distribution, relative for Manifold) with extra query parameters. */
function uploadPath(location: string | undefined, params: Record<string, string> = {}): string {
  if (!location) throw new Error('upload response carries no Location');
  const u = new URL(location, 'http://registry.invalid');
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.pathname + u.search;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// ---------------------------------------------------------------------------------------------
// Blob operations (identical for both registries)

type BodyFactory = () => Readable;

async function uploadMonolithic(ep: Endpoint, agent: http.Agent, repo: string, size: number, digest: string, body: BodyFactory): Promise<void> {
  const post = await request(ep, 'POST', `/v2/${repo}/blobs/uploads/`, { agent, headers: { 'Content-Length': 0 }, expect: [202] });
  const put = await request(ep, 'PUT', uploadPath(post.headers.location, { digest }), {
    agent,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
    body: body(),
    expect: [201],
  });
  if (put.headers['docker-content-digest'] !== digest) throw new Error(`PUT answered digest ${put.headers['docker-content-digest']}, not ${digest}`);
}

async function uploadChunked(ep: Endpoint, agent: http.Agent, repo: string, file: string, size: number, digest: string): Promise<number> {
  const post = await request(ep, 'POST', `/v2/${repo}/blobs/uploads/`, { agent, headers: { 'Content-Length': 0 }, expect: [202] });
  let location = post.headers.location;
  let chunks = 0;
  for (let start = 0; start < size; start += CHUNK_SIZE) {
    const end = Math.min(start + CHUNK_SIZE, size) - 1;
    const patch = await request(ep, 'PATCH', uploadPath(location), {
      agent,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': end - start + 1, 'Content-Range': `${start}-${end}` },
      body: createReadStream(file, { start, end, highWaterMark: MiB }),
      expect: [202],
    });
    // Distribution keeps the session state in the Location it returns: always follow the latest.
    location = patch.headers.location;
    chunks++;
  }
  const put = await request(ep, 'PUT', uploadPath(location, { digest }), { agent, headers: { 'Content-Length': 0 }, expect: [201] });
  if (put.headers['docker-content-digest'] !== digest) throw new Error(`PUT answered digest ${put.headers['docker-content-digest']}, not ${digest}`);
  return chunks;
}

async function pushSmallBlob(ep: Endpoint, agent: http.Agent, repo: string, bytes: Buffer, digest: string): Promise<void> {
  const post = await request(ep, 'POST', `/v2/${repo}/blobs/uploads/`, { agent, headers: { 'Content-Length': 0 }, expect: [202] });
  await request(ep, 'PUT', uploadPath(post.headers.location, { digest }), {
    agent,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length },
    body: bytes,
    expect: [201],
  });
}

interface SmallImage {
  layer: Buffer;
  layerDigest: string;
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
}

function makeSmallImage(): SmallImage {
  const layer = randomBytes(SMALL_LAYER_SIZE);
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      created: '2026-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'manifold bench' }],
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MT.ociLayerGzip, digest: layerDigest, size: layer.length }],
    }),
  );
  return { layer, layerDigest, config, configDigest, manifest, manifestDigest: sha256(manifest) };
}

async function pushImage(ep: Endpoint, agent: http.Agent, repo: string, tag: string, img: SmallImage): Promise<void> {
  await pushSmallBlob(ep, agent, repo, img.layer, img.layerDigest);
  await pushSmallBlob(ep, agent, repo, img.config, img.configDigest);
  await putManifest(ep, agent, repo, tag, img);
}

async function putManifest(ep: Endpoint, agent: http.Agent, repo: string, ref: string, img: SmallImage): Promise<void> {
  const r = await request(ep, 'PUT', `/v2/${repo}/manifests/${ref}`, {
    agent,
    headers: { 'Content-Type': MT.ociManifest, 'Content-Length': img.manifest.length },
    body: img.manifest,
    expect: [201],
  });
  if (r.headers['docker-content-digest'] !== img.manifestDigest) throw new Error(`manifest PUT answered ${r.headers['docker-content-digest']}`);
}

/** Runs `fn(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

// ---------------------------------------------------------------------------------------------
// Test data

/** Random file of `size` bytes; returns its digest (hashed while writing, so read once). */
async function makeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const buf = Buffer.allocUnsafe(4 * MiB);
  for (let written = 0; written < size; ) {
    const n = Math.min(buf.length, size - written);
    const piece = Buffer.from(randomFillSync(buf, 0, n).subarray(0, n)); // copy: `buf` is refilled next round
    hash.update(piece);
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()));
    written += n;
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return `sha256:${hash.digest('hex')}`;
}

/** Writes `size` bytes to a new file in 1 MiB writes; MB/s. What the page cache and disk allow, without HTTP or hashing. */
async function writeCeiling(path: string, size: number, pattern: Buffer): Promise<number> {
  const t0 = performance.now();
  const out = createWriteStream(path, { highWaterMark: MiB });
  for (let written = 0; written < size; written += MiB) {
    if (!out.write(pattern.subarray(0, MiB))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return size / MB / ((performance.now() - t0) / 1000);
}

/** `total` bytes made by repeating `pattern`, generated on the fly in 1 MiB slices (nothing on disk, nothing buffered). */
class RepeatStream extends Readable {
  private sent = 0;
  constructor(
    private readonly pattern: Buffer,
    private readonly total: number,
  ) {
    super({ highWaterMark: 4 * MiB });
  }
  override _read(): void {
    for (;;) {
      if (this.sent >= this.total) {
        this.push(null);
        return;
      }
      const off = this.sent % this.pattern.length;
      const n = Math.min(MiB, this.pattern.length - off, this.total - this.sent);
      this.sent += n;
      if (!this.push(this.pattern.subarray(off, off + n))) return;
    }
  }
}

function digestOfRepeat(pattern: Buffer, total: number): string {
  const hash = createHash('sha256');
  let left = total;
  while (left > 0) {
    const n = Math.min(pattern.length, left);
    hash.update(n === pattern.length ? pattern : pattern.subarray(0, n));
    left -= n;
  }
  return `sha256:${hash.digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Load generators

interface LoadResult {
  tool: string;
  requests: number;
  seconds: number;
  rps: number;
  non2xx: number;
  socketErrors: number;
  latencyAvgMs?: number;
  raw?: string;
}

function runProcess(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

function parseWrk(out: string): LoadResult {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : 0;
  };
  const lat = /Latency\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const latencyAvgMs = lat ? Number(lat[1]) * ({ us: 1e-3, ms: 1, s: 1000 } as const)[lat[2] as 'us' | 'ms' | 's'] : undefined;
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)\b/.exec(out);
  const seconds = m ? Number(m[2]) * ({ us: 1e-6, ms: 1e-3, s: 1, m: 60 } as const)[m[3] as 'us' | 'ms' | 's' | 'm'] : 0;
  return {
    tool: 'wrk',
    requests: m ? Number(m[1]) : 0,
    seconds,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
    socketErrors: se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    latencyAvgMs,
    raw: out.trim(),
  };
}

async function wrk(ep: Endpoint, path: string, opts: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const args = ['-t2', `-c${opts.connections}`, `-d${opts.seconds}s`];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(`http://${ep.host}:${ep.port}${path}`);
  const r = await runProcess(WRK_BIN, args);
  if (r.code !== 0) throw new Error(`wrk exited ${r.code}: ${r.stderr}${r.stdout}`);
  return parseWrk(r.stdout);
}

/**
 * HEAD load: `connections` keep-alive sockets, one request in flight on each, for `seconds`.
 * wrk 4.1 (Debian's) cannot do HEAD: its parser waits for the Content-Length body a HEAD
 * response never carries. A HEAD response ends at the blank line, so this needs no parser.
 */
async function headLoad(ep: Endpoint, path: string, opts: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const extra = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const reqBytes = Buffer.from(`HEAD ${path} HTTP/1.1\r\nHost: ${ep.host}:${ep.port}\r\n${extra}\r\n`, 'latin1');
  const END = Buffer.from('\r\n\r\n');
  let counting = true;
  let stopped = false;
  let requests = 0;
  let non2xx = 0;
  let socketErrors = 0;
  let latencySum = 0;
  const sockets = new Set<net.Socket>();

  const conn = () =>
    new Promise<void>((done) => {
      const open = () => {
        if (stopped) return done();
        const sock = net.connect(ep.port, ep.host);
        sockets.add(sock);
        sock.setNoDelay(true);
        let pending: Buffer = Buffer.alloc(0);
        let sentAt = 0;
        const send = () => {
          sentAt = performance.now();
          sock.write(reqBytes);
        };
        sock.on('connect', send);
        sock.on('data', (d: Buffer) => {
          pending = pending.length ? Buffer.concat([pending, d]) : d;
          let end: number;
          while ((end = pending.indexOf(END)) >= 0) {
            if (counting) {
              const status = Number(pending.toString('latin1', 9, 12));
              requests++;
              latencySum += performance.now() - sentAt;
              if (status > 399) non2xx++; // as wrk counts "Non-2xx or 3xx"
            }
            pending = pending.subarray(end + END.length);
            if (stopped) {
              sock.destroy();
              return;
            }
            send();
          }
        });
        sock.on('error', () => {
          if (!stopped) socketErrors++;
        });
        sock.on('close', () => {
          sockets.delete(sock);
          if (stopped) done();
          else open();
        });
      };
      open();
    });

  const all = Promise.all(Array.from({ length: opts.connections }, conn));
  const t0 = performance.now();
  await sleep(opts.seconds * 1000);
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  stopped = true;
  const force = setTimeout(() => sockets.forEach((s) => s.destroy()), 2000);
  await all;
  clearTimeout(force);
  return {
    tool: 'node-head',
    requests,
    seconds,
    rps: requests / seconds,
    non2xx,
    socketErrors,
    latencyAvgMs: requests ? latencySum / requests : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Results

type Better = 'higher' | 'lower';

interface Row {
  key: string;
  metric: string;
  unit: string;
  better: Better;
  manifold?: number;
  distribution?: number;
  /** > 1 always means Manifold is better. */
  ratio?: number;
  target?: string;
  met?: boolean;
  notes: string[];
  details: Record<string, unknown>;
  secondary?: boolean;
}

const rows: Row[] = [];

function row(key: string, metric: string, unit: string, better: Better, extra: Partial<Row> = {}): Row {
  const r: Row = { key, metric, unit, better, notes: [], details: {}, ...extra };
  rows.push(r);
  return r;
}

function finish(r: Row, target?: { ratioAtLeast?: number; manifoldBelow?: number }): void {
  const m = r.manifold;
  const d = r.distribution;
  if (m !== undefined && d !== undefined && m > 0 && d > 0) r.ratio = r.better === 'higher' ? m / d : d / m;
  if (target?.ratioAtLeast !== undefined) {
    r.target = `≥ ${target.ratioAtLeast}×`;
    if (r.ratio !== undefined) r.met = r.ratio >= target.ratioAtLeast;
  }
  if (target?.manifoldBelow !== undefined) {
    r.target = `< ${target.manifoldBelow} ${r.unit}`;
    if (m !== undefined) r.met = m < target.manifoldBelow;
  }
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function printTable(context?: string): string {
  const header = ['metric', 'unit', 'manifold', 'distribution', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    (r.secondary ? '  ' : '') + r.metric + (r.better === 'lower' ? ' ↓' : ''),
    r.unit,
    fmt(r.manifold),
    fmt(r.distribution),
    r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => [...l[i]!].length)));
  const pad = (s: string, w: number, right: boolean) => {
    const len = [...s].length;
    return right ? ' '.repeat(w - len) + s : s + ' '.repeat(w - len);
  };
  const numeric = [false, false, true, true, true, false, false];
  const render = (cells: string[]) => '| ' + cells.map((c, i) => pad(c, widths[i]!, numeric[i]!)).join(' | ') + ' |';
  const out: string[] = [];
  out.push(render(header));
  out.push('|' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|');
  for (const l of lines) out.push(render(l));
  out.push('');
  out.push('ratio: manifold/distribution; for rows marked ↓ (lower is better) distribution/manifold. Above 1× Manifold is better.');
  out.push('MB = 10^6 bytes. Indented rows are secondary figures.');
  if (context) out.push(context);
  if (loadChecks.runs) {
    out.push(
      `load checks: ${loadChecks.runs} measured load runs, ${loadChecks.requests.toLocaleString('en-US')} responses, ` +
        `${loadChecks.non2xx} non-2xx/3xx, ${loadChecks.socketErrors} socket errors`,
    );
  }
  const notes = rows.filter((r) => r.notes.length);
  if (notes.length) {
    out.push('');
    out.push('notes:');
    for (const r of notes) for (const n of r.notes) out.push(`  - ${r.metric}: ${n}`);
  }
  const text = out.join('\n');
  process.stdout.write(`\n${text}\n`);
  return text;
}

function log(msg: string): void {
  const s = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${s}s] ${msg}\n`);
}

const startedAt = performance.now();

/** Runs one metric for Manifold then Distribution; records server CPU seconds; errors become notes. */
async function measure(
  r: Row,
  targets: Target[],
  fn: (t: Target) => Promise<{ value: number; details?: Record<string, unknown>; note?: string }>,
): Promise<void> {
  for (const t of targets) {
    const cpu0 = cpuSeconds(t.pid);
    try {
      const { value, details, note } = await fn(t);
      const cpu1 = cpuSeconds(t.pid);
      r[t.name] = value;
      r.details[t.label] = {
        ...(details ?? {}),
        serverCpuUserSeconds: +(cpu1.user - cpu0.user).toFixed(2),
        serverCpuSysSeconds: +(cpu1.sys - cpu0.sys).toFixed(2),
      };
      if (note) r.notes.push(`${t.label}: ${note}`);
      log(`  ${t.label.padEnd(12)} ${fmt(value)} ${r.unit}`);
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0]!;
      r.notes.push(`${t.label}: FAILED: ${msg}`);
      r.details[t.label] = { error: (e as Error).stack };
      log(`  ${t.label.padEnd(12)} FAILED: ${msg}`);
    }
  }
}

const loadChecks = { runs: 0, requests: 0, non2xx: 0, socketErrors: 0 };

function loadNote(res: LoadResult): string | undefined {
  loadChecks.runs++;
  loadChecks.requests += res.requests;
  loadChecks.non2xx += res.non2xx;
  loadChecks.socketErrors += res.socketErrors;
  const issues: string[] = [];
  if (res.non2xx > 0) issues.push(`${res.non2xx} non-2xx/3xx responses`);
  if (res.socketErrors > 0) issues.push(`${res.socketErrors} socket errors`);
  if (res.requests === 0) issues.push('no request completed');
  return issues.length ? issues.join(', ') : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Touches `bytes` (plus a margin) of anonymous memory in a short-lived child process, which frees
 * it on exit, right before an upload is measured. The kernel hands recently freed pages out first,
 * so the upload's page cache lands on pages the machine has already touched. On a VM whose
 * memory is faulted in lazily and handed back to the host when free (virtio-balloon free page
 * reporting), the first touch of a page costs a hypervisor exit: without this, an upload's
 * speed depends on how much memory happened to be freed just before it, not on the registry.
 */
function prefault(bytes: number): void {
  if (!PREFAULT) return;
  const piece = 256 * MiB;
  const pieces = Math.ceil((bytes + piece) / piece);
  execFileSync(process.execPath, ['-e', `const a = []; for (let i = 0; i < ${pieces}; i++) a.push(Buffer.alloc(${piece}, 1));`], {
    stdio: 'ignore',
  });
}

function syncDisks(): void {
  try {
    execFileSync('sync');
  } catch {
    /* best effort */
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  mkdirSync(RUN_DIR, { recursive: true });
  const versions = {
    node: process.version,
    distribution: execFileSync(DISTRIBUTION_BIN, ['--version']).toString().trim(),
    wrk: (await runProcess(WRK_BIN, ['--version'])).stdout.split('\n')[0]!.trim(),
  };
  log(`${os.cpus().length} CPUs, ${(os.totalmem() / GiB).toFixed(0)} GiB RAM; ${versions.distribution}; ${versions.wrk}${QUICK ? '; QUICK MODE' : ''}`);
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');

  // Two different random files: an upload whose blob already exists would replace (and free) the
  // first copy's pages, and on VMs that fault memory in lazily, freed pages make the next writer faster.
  log(`generating two ${BLOB_SIZE / MiB} MiB random files`);
  const blobFile = join(RUN_DIR, 'blob-monolithic.bin');
  const blobDigest = await makeRandomFile(blobFile, BLOB_SIZE);
  const chunkFile = join(RUN_DIR, 'blob-chunked.bin');
  const chunkDigest = await makeRandomFile(chunkFile, BLOB_SIZE);
  const pattern = randomBytes(8 * MiB + 4096); // not a divisor of the total, so slices shift
  log(`hashing the ${BIG_SIZE / GiB} GiB generated stream`);
  const bigDigest = digestOfRepeat(pattern, BIG_SIZE);
  syncDisks();
  // Kept until the end, for the same reason as above.
  prefault(BLOB_SIZE);
  const ceiling = await writeCeiling(join(RUN_DIR, 'ceiling.bin'), BLOB_SIZE, pattern);
  log(`environment: writing ${BLOB_SIZE / MiB} MiB to a new file with node:fs runs at ${fmt(ceiling)} MB/s`);

  log('starting manifold and distribution');
  const manifold = await startManifold('manifold');
  const distribution = await startDistribution();
  const both = [manifold, distribution];
  log(`manifold pid ${manifold.pid} on :${manifold.port}, distribution pid ${distribution.pid} on :${distribution.port}`);
  const agents = new Map<Target, http.Agent>();
  const agentFor = (t: Target) => {
    let a = agents.get(t);
    if (!a) agents.set(t, (a = new http.Agent({ keepAlive: true, maxSockets: 64 })));
    return a;
  };
  const blobMB = BLOB_SIZE / MB;
  const sizeLabel = BLOB_SIZE >= GiB ? `${BLOB_SIZE / GiB} GiB` : `${BLOB_SIZE / MiB} MiB`;
  const bigLabel = BIG_SIZE >= GiB ? `${BIG_SIZE / GiB} GiB` : `${BIG_SIZE / MiB} MiB`;

  // 1. Monolithic upload.
  const mono = row('upload_monolithic', `blob upload ${sizeLabel}, monolithic (POST + PUT)`, 'MB/s', 'higher');
  log(mono.metric);
  const monoOnce = async (t: Target) => {
    syncDisks();
    prefault(BLOB_SIZE);
    const t0 = performance.now();
    await uploadMonolithic(t, agentFor(t), 'bench/mono', BLOB_SIZE, blobDigest, () => createReadStream(blobFile, { highWaterMark: MiB }));
    const s = (performance.now() - t0) / 1000;
    return { value: blobMB / s, details: { seconds: s } };
  };
  await measure(mono, both, monoOnce);
  finish(mono, { ratioAtLeast: 4 });

  // 2. Chunked upload.
  const chunked = row('upload_chunked', `blob upload ${sizeLabel}, chunked ${CHUNK_SIZE / MiB} MiB PATCHes`, 'MB/s', 'higher');
  log(chunked.metric);
  const chunkedOnce = async (t: Target) => {
    syncDisks();
    prefault(BLOB_SIZE);
    const t0 = performance.now();
    const n = await uploadChunked(t, agentFor(t), 'bench/chunked', chunkFile, BLOB_SIZE, chunkDigest);
    const s = (performance.now() - t0) / 1000;
    return { value: blobMB / s, details: { seconds: s, patches: n } };
  };
  await measure(chunked, both, chunkedOnce);
  finish(chunked, { ratioAtLeast: 4 });

  // 3. Download.
  const dl = row('download', `blob download ${sizeLabel} (GET, body discarded, median of ${DOWNLOAD_REPEATS})`, 'MB/s', 'higher');
  log(dl.metric);
  await measure(dl, both, async (t) => {
    const rates: number[] = [];
    for (let i = 0; i < DOWNLOAD_REPEATS; i++) {
      const t0 = performance.now();
      const r = await download(t, `/v2/bench/mono/blobs/${blobDigest}`, agentFor(t));
      const s = (performance.now() - t0) / 1000;
      if (r.status !== 200 || r.bytes !== BLOB_SIZE) throw new Error(`GET -> ${r.status}, ${r.bytes} bytes`);
      if (r.digest !== blobDigest) throw new Error(`Docker-Content-Digest ${r.digest}`);
      rates.push(blobMB / s);
    }
    return { value: median(rates), details: { runsMBps: rates.map((x) => +x.toFixed(0)) } };
  });
  finish(dl, { ratioAtLeast: 1 });

  // 4/5. A small image for the request-rate figures.
  const small = makeSmallImage();
  for (const t of both) await pushImage(t, agentFor(t), 'bench/small', 'v1', small);
  for (const t of both) {
    const r = await request(t, 'GET', '/v2/bench/small/manifests/v1', { agent: agentFor(t), headers: { Accept: ACCEPT_ALL_MANIFESTS }, expect: [200] });
    if (r.headers['docker-content-digest'] !== small.manifestDigest || !r.body.equals(small.manifest)) {
      throw new Error(`${t.label}: manifest GET did not return the pushed bytes`);
    }
  }
  type LoadOpts = { connections: number; seconds: number; headers?: Record<string, string> };
  const loadOpts: LoadOpts = { connections: WRK_CONNECTIONS, seconds: WRK_SECONDS, headers: { Accept: ACCEPT_ALL_MANIFESTS } };
  const rate = (gen: typeof wrk, path: string, opts: LoadOpts) => async (t: Target) => {
    await gen(t, path, { ...opts, seconds: WRK_WARMUP_SECONDS }); // warm-up, not counted
    const res = await gen(t, path, opts);
    return { value: res.rps, details: { ...res }, note: loadNote(res) };
  };

  const mget = row('manifest_get', `manifest GET by tag, ${WRK_CONNECTIONS} connections (wrk)`, 'req/s', 'higher');
  log(mget.metric);
  await measure(mget, both, rate(wrk, '/v2/bench/small/manifests/v1', loadOpts));
  finish(mget, { ratioAtLeast: 8 });

  const mhead = row('manifest_head', `manifest HEAD by tag, ${WRK_CONNECTIONS} connections (node client)`, 'req/s', 'higher');
  log(mhead.metric);
  await measure(mhead, both, rate(headLoad, '/v2/bench/small/manifests/v1', loadOpts));
  finish(mhead);

  const bget = row('small_blob_get', `blob GET ${SMALL_LAYER_SIZE / 1024} KiB, ${WRK_CONNECTIONS} connections (wrk)`, 'req/s', 'higher');
  log(bget.metric);
  await measure(bget, both, rate(wrk, `/v2/bench/small/blobs/${small.layerDigest}`, { connections: WRK_CONNECTIONS, seconds: WRK_SECONDS, headers: {} }));
  finish(bget);

  // 6. Parallel pushes.
  const images = Array.from({ length: PUSH_COUNT }, makeSmallImage);
  const pushSec = row('push_parallel_seconds', `${PUSH_COUNT} small image pushes in parallel, total`, 's', 'lower');
  const pushRate = row('push_parallel_rate', `${PUSH_COUNT} small image pushes in parallel, rate`, 'images/s', 'higher', { secondary: true });
  log(pushSec.metric);
  await measure(pushSec, both, async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: PUSH_COUNT });
    try {
      const t0 = performance.now();
      await Promise.all(images.map((img, i) => pushImage(t, agent, `bench/push-${i}`, 'v1', img)));
      const s = (performance.now() - t0) / 1000;
      pushRate[t.name] = PUSH_COUNT / s;
      return { value: s, details: { requests: PUSH_COUNT * 5 } };
    } finally {
      agent.destroy();
    }
  });
  finish(pushSec);
  finish(pushRate);

  // 7. Tags list with many tags.
  const tagsSetup = row('tags_setup', `${TAG_COUNT.toLocaleString('en-US')} tag PUTs, ${TAG_CONCURRENCY} in flight (set-up)`, 'tags/s', 'higher', { secondary: true });
  const tagsList = row('tags_list', `tags/list of ${TAG_COUNT.toLocaleString('en-US')} tags, ${TAGS_WRK_CONNECTIONS} connections (wrk)`, 'req/s', 'higher');
  log(tagsSetup.metric);
  const tagImage = makeSmallImage();
  await measure(tagsSetup, both, async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: TAG_CONCURRENCY });
    try {
      await pushSmallBlob(t, agent, 'bench/tags', tagImage.layer, tagImage.layerDigest);
      await pushSmallBlob(t, agent, 'bench/tags', tagImage.config, tagImage.configDigest);
      const t0 = performance.now();
      await pool(TAG_COUNT, TAG_CONCURRENCY, (i) => putManifest(t, agent, 'bench/tags', `t${String(i).padStart(5, '0')}`, tagImage));
      const s = (performance.now() - t0) / 1000;
      return { value: TAG_COUNT / s, details: { seconds: s } };
    } finally {
      agent.destroy();
    }
  });
  finish(tagsSetup);
  log(tagsList.metric);
  await measure(tagsList, both, async (t) => {
    const r = await request(t, 'GET', '/v2/bench/tags/tags/list', { agent: agentFor(t), expect: [200] });
    const body = JSON.parse(r.body.toString('utf8')) as { tags?: string[] };
    const count = body.tags?.length ?? 0;
    if (count !== TAG_COUNT) throw new Error(`tags/list returned ${count} tags, expected ${TAG_COUNT}${r.headers.link ? ` (Link: ${r.headers.link})` : ''}`);
    await wrk(t, '/v2/bench/tags/tags/list', { connections: TAGS_WRK_CONNECTIONS, seconds: WRK_WARMUP_SECONDS });
    const res = await wrk(t, '/v2/bench/tags/tags/list', { connections: TAGS_WRK_CONNECTIONS, seconds: TAGS_WRK_SECONDS });
    return { value: res.rps, details: { ...res, responseBytes: r.body.length }, note: loadNote(res) };
  });
  finish(tagsList);

  // 8. Peak RSS during a big upload.
  const rss = row('peak_rss_big_upload', `peak RSS during a ${bigLabel} monolithic upload`, 'MB', 'lower');
  const bigRate = row('big_upload', `${bigLabel} monolithic upload, generated stream`, 'MB/s', 'higher', { secondary: true });
  log(rss.metric);
  await measure(rss, both, async (t) => {
    syncDisks();
    prefault(BIG_SIZE);
    const before = procStatus(t.pid);
    const reset = resetPeakRss(t.pid);
    let sampled = before.VmRSS ?? 0;
    let samples = 0;
    const timer = setInterval(() => {
      try {
        sampled = Math.max(sampled, procStatus(t.pid).VmRSS ?? 0);
        samples++;
      } catch {
        /* process gone: the upload fails and says so */
      }
    }, RSS_SAMPLE_MS);
    const t0 = performance.now();
    try {
      await uploadMonolithic(t, agentFor(t), 'bench/big', BIG_SIZE, bigDigest, () => new RepeatStream(pattern, BIG_SIZE));
    } finally {
      clearInterval(timer);
    }
    const s = (performance.now() - t0) / 1000;
    bigRate[t.name] = BIG_SIZE / MB / s;
    const after = procStatus(t.pid);
    const hwm = reset ? (after.VmHWM ?? 0) : 0;
    const peak = Math.max(sampled, hwm);
    return {
      value: peak / MB,
      details: {
        rssBeforeMB: (before.VmRSS ?? 0) / MB,
        sampledPeakMB: sampled / MB,
        vmHWMMB: reset ? hwm / MB : null,
        samples,
        uploadSeconds: s,
      },
      note: reset ? undefined : 'could not reset VmHWM; figure is the sampled peak only',
    };
  });
  finish(rss, { manifoldBelow: 200 });
  finish(bigRate);

  // Secondary: Manifold with --fsync false (Distribution does not fsync blobs), against the same Distribution figures.
  const nofsync = await startManifold('manifold-nofsync', ['--fsync', 'false']);
  try {
    const r1 = row('upload_monolithic_nofsync', `blob upload ${sizeLabel}, monolithic, manifold --fsync false`, 'MB/s', 'higher', { secondary: true });
    log(r1.metric);
    await measure(r1, [nofsync], monoOnce);
    r1.distribution = mono.distribution;
    r1.notes.push('distribution column repeats the first row (Distribution never fsyncs)');
    finish(r1);
    const r2 = row('upload_chunked_nofsync', `blob upload ${sizeLabel}, chunked, manifold --fsync false`, 'MB/s', 'higher', { secondary: true });
    log(r2.metric);
    await measure(r2, [nofsync], chunkedOnce);
    r2.distribution = chunked.distribution;
    finish(r2);
  } finally {
    await stopChild(nofsync.child);
  }

  for (const a of agents.values()) a.destroy();
  await Promise.all(both.map((t) => stopChild(t.child)));

  const table = printTable(`environment: writing ${sizeLabel} to a new file with node:fs (no HTTP, no hash, no fsync${PREFAULT ? ', memory pre-faulted' : ', cold memory'}): ${fmt(ceiling)} MB/s`);
  mkdirSync(WORK, { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        quick: QUICK,
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: +(os.totalmem() / GiB).toFixed(1), kernel: os.release() },
        versions,
        environment: { newFileWriteMBps: +ceiling.toFixed(0) },
        settings: {
          blobBytes: BLOB_SIZE,
          chunkBytes: CHUNK_SIZE,
          bigUploadBytes: BIG_SIZE,
          wrkSeconds: WRK_SECONDS,
          wrkConnections: WRK_CONNECTIONS,
          tagCount: TAG_COUNT,
          tagConcurrency: TAG_CONCURRENCY,
          prefault: PREFAULT,
          pushCount: PUSH_COUNT,
          manifold: 'default settings (fsync on) unless the metric says otherwise',
          distribution: 'filesystem driver, inmemory blob descriptor cache, delete enabled, access log off, log level error',
        },
        loadChecks,
        ratioMeaning: 'manifold/distribution for higher-is-better, distribution/manifold for lower-is-better: above 1 Manifold is better',
        metrics: rows,
        table,
        totalSeconds: +((performance.now() - startedAt) / 1000).toFixed(1),
      },
      null,
      2,
    ) + '\n',
  );
  log(`results written to ${RESULTS_FILE}`);
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  process.stderr.write(`\nbenchmark failed: ${(e as Error).stack}\n`);
  if (rows.length) printTable();
} finally {
  await Promise.all([...children].map((c) => stopChild(c, 2000)));
  rmSync(RUN_DIR, { recursive: true, force: true });
  log(`done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
}
process.exit(failed ? 1 : 0);
