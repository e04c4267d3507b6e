import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG, type ServerConfig } from '../registry/config.js';
import { startServer } from '../registry/server.js';

/**
 * Where each setting comes from, highest first: flag, environment variable, config file, default.
 * One table so that `--help`, the README and the code agree.
 */
const SETTINGS: { key: keyof ServerConfig; flag: string; env: string; help: string; parse: (v: string) => unknown }[] = [
  { key: 'listen', flag: '--listen <host:port>', env: 'MANIFOLD_LISTEN', help: 'address to listen on', parse: String },
  { key: 'dataDir', flag: '--data <dir>', env: 'MANIFOLD_DATA', help: 'data directory (blobs + SQLite metadata)', parse: String },
  { key: 'logLevel', flag: '--log-level <level>', env: 'MANIFOLD_LOG_LEVEL', help: 'pino log level: trace|debug|info|warn|error|silent', parse: String },
  { key: 'uploadMaxAgeMs', flag: '--upload-max-age <seconds>', env: 'MANIFOLD_UPLOAD_MAX_AGE', help: 'purge upload sessions idle this long', parse: seconds },
  { key: 'maxManifestBytes', flag: '--max-manifest-size <bytes>', env: 'MANIFOLD_MAX_MANIFEST_SIZE', help: 'largest manifest accepted', parse: int },
  { key: 'chunkMinLength', flag: '--chunk-min-length <bytes>', env: 'MANIFOLD_CHUNK_MIN_LENGTH', help: 'advertise OCI-Chunk-Min-Length (0: not sent)', parse: int },
  { key: 'fsync', flag: '--fsync <bool>', env: 'MANIFOLD_FSYNC', help: 'fsync blobs and metadata commits before acknowledging them', parse: bool },
  { key: 'gcGraceMs', flag: '--gc-grace <seconds>', env: 'MANIFOLD_GC_GRACE', help: 'keep unreferenced blobs this long before removing them', parse: seconds },
  { key: 'janitorIntervalMs', flag: '--janitor-interval <seconds>', env: 'MANIFOLD_JANITOR_INTERVAL', help: 'how often upload purge and blob GC run', parse: seconds },
  { key: 'catalogPageSize', flag: '--catalog-page-size <n>', env: 'MANIFOLD_CATALOG_PAGE_SIZE', help: 'page size of _catalog and /acr/v1 listings when the client gives no n', parse: int },
  { key: 'autoMount', flag: '--auto-mount <bool>', env: 'MANIFOLD_AUTO_MOUNT', help: 'mount without ?from= when the registry already has the blob', parse: bool },
  { key: 'allowAnonymousPush', flag: '--allow-anonymous-push <bool>', env: 'MANIFOLD_ALLOW_ANONYMOUS_PUSH', help: 'start on a non-loopback address with no users or tokens (anyone could push and delete)', parse: bool },
  { key: 'anonymousPull', flag: '--anonymous-pull <patterns>', env: 'MANIFOLD_ANONYMOUS_PULL', help: 'comma-separated repository patterns anyone may pull once auth is on (team/*, app, or * for all)', parse: list },
  { key: 'authService', flag: '--auth-service <name>', env: 'MANIFOLD_AUTH_SERVICE', help: 'service name in auth challenges and token audience', parse: String },
  { key: 'authRealm', flag: '--auth-realm <url>', env: 'MANIFOLD_AUTH_REALM', help: 'token realm URL to advertise (default: built from the request Host, for use behind proxies)', parse: String },
  { key: 'tokenTtlMs', flag: '--token-ttl <seconds>', env: 'MANIFOLD_TOKEN_TTL', help: 'lifetime of access tokens from /oauth2/token', parse: seconds },
  { key: 'loginFailureLimit', flag: '--login-failure-limit <n>', env: 'MANIFOLD_LOGIN_FAILURE_LIMIT', help: 'failed logins per client address per minute before a one-minute lockout', parse: int },
];

function int(v: string): number {
  if (!/^\d+$/.test(v)) throw new Error(`expected a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}
function seconds(v: string): number {
  return int(v) * 1000;
}
function list(v: string): string[] {
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}
function bool(v: string): boolean {
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new Error(`expected true or false, got ${JSON.stringify(v)}`);
}

/** A config file (YAML or JSON) uses the same names as the flags, without dashes: `listen`, `data`, `log-level`… */
function readConfigFile(path: string): Partial<Record<string, unknown>> {
  const doc = parseYaml(readFileSync(path, 'utf8')) as unknown;
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path}: expected a map of settings`);
  return doc as Record<string, unknown>;
}

function flagName(flag: string): string {
  return flag.split(' ')[0]!.replace(/^--/, '');
}

function optionKey(flag: string): string {
  return flagName(flag).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function resolveConfig(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): ServerConfig {
  const file = (opts.config as string | undefined) ?? env.MANIFOLD_CONFIG;
  const fromFile = file ? readConfigFile(file) : {};
  const known = new Set(SETTINGS.map((s) => flagName(s.flag)));
  for (const k of Object.keys(fromFile)) {
    if (!known.has(k)) throw new Error(`${file}: unknown setting ${JSON.stringify(k)} (known: ${[...known].join(', ')})`);
  }
  const config: ServerConfig = { ...DEFAULT_CONFIG };
  for (const s of SETTINGS) {
    const flagValue = opts[optionKey(s.flag)];
    const raw = flagValue ?? env[s.env] ?? fromFile[flagName(s.flag)];
    if (raw === undefined) continue;
    try {
      (config as unknown as Record<string, unknown>)[s.key] = s.parse(String(raw));
    } catch (e) {
      throw new Error(`${flagName(s.flag)}: ${(e as Error).message}`);
    }
  }
  return config;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('Run the registry (filesystem blobs + SQLite metadata under --data)')
    .option('--config <file>', 'YAML or JSON config file (env MANIFOLD_CONFIG)');
  for (const s of SETTINGS) {
    cmd.option(s.flag, `${s.help} (env ${s.env}, default ${describeDefault(s.key)})`);
  }
  cmd.addHelpText(
    'after',
    '\nPrecedence: flag > environment > config file > default. Config file keys are the flag names, e.g.\n  listen: 0.0.0.0:5000\n  data: /var/lib/manifold\n  log-level: info',
  );
  cmd.action(async (opts: Record<string, unknown>) => {
    const config = resolveConfig(opts, process.env);
    const running = await startServer(config);
    // One line on stdout whatever the log level, so people and scripts know where it is.
    process.stdout.write(`manifold listening on ${running.url} (data: ${config.dataDir})\n`);
    const stop = () => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function describeDefault(key: keyof ServerConfig): string {
  const v = DEFAULT_CONFIG[key];
  if (key.endsWith('Ms')) return `${(v as number) / 1000}s`;
  return String(v);
}
