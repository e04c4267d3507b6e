/**
 * Registry credentials in docker's `config.json` format, so `manifold login` and `docker login`
 * share logins: `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), `auths` entries with
 * base64 `user:password`, identity tokens, and credential helpers (`credsStore`, `credHelpers`).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (docker's `identitytoken`); used with grant_type=refresh_token. */
  identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

export function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

async function readConfig(path: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  try {
    const parsed = JSON.parse(text || '{}') as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as DockerConfigFile;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Writes atomically (temp file + rename) with owner-only permissions: it holds secrets. */
async function writeConfig(path: string, config: DockerConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

/** Docker keys Docker Hub's entry by its old URL; every other registry by host[:port]. */
function authKeys(registry: string): string[] {
  if (registry === 'docker.io' || registry === 'registry-1.docker.io' || registry === 'index.docker.io') {
    return ['https://index.docker.io/v1/', 'docker.io', 'index.docker.io', 'registry-1.docker.io'];
  }
  return [registry, `https://${registry}`, `http://${registry}`];
}

function decodeEntry(entry: AuthEntry): Credentials | undefined {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (!username && !entry.identitytoken) return undefined;
  return { username, password, ...(entry.identitytoken ? { identityToken: entry.identitytoken } : {}) };
}

/** Asks a docker credential helper (`docker-credential-NAME get`) for a registry's login. */
function fromHelper(helper: string, registry: string): Promise<Credentials | undefined> {
  return new Promise((resolve) => {
    const child = execFile(`docker-credential-${helper}`, ['get'], { timeout: 30_000 }, (err, stdout) => {
      if (err) return resolve(undefined); // "credentials not found" is an exit status too
      try {
        const { Username, Secret } = JSON.parse(stdout) as { Username: string; Secret: string };
        resolve(Username === '<token>' ? { username: '', password: '', identityToken: Secret } : { username: Username, password: Secret });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin?.end(registry);
  });
}

/** The stored login for a registry, if any. */
export async function loadCredentials(registry: string): Promise<Credentials | undefined> {
  const config = await readConfig(dockerConfigPath());
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) {
    const found = await fromHelper(helper, registry);
    if (found) return found;
  }
  for (const key of authKeys(registry)) {
    const entry = config.auths?.[key];
    const creds = entry && decodeEntry(entry);
    if (creds) return creds;
  }
  return undefined;
}

/** Stores a login in `config.json`, keeping every other setting in the file. */
export async function saveCredentials(registry: string, creds: Credentials): Promise<string> {
  const path = dockerConfigPath();
  const config = await readConfig(path);
  config.auths ??= {};
  for (const key of authKeys(registry)) delete config.auths[key];
  const entry: AuthEntry = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  if (creds.identityToken) entry.identitytoken = creds.identityToken;
  config.auths[authKeys(registry)[0]!] = entry;
  await writeConfig(path, config);
  return path;
}

/** Removes a login; false when there was none. */
export async function removeCredentials(registry: string): Promise<boolean> {
  const path = dockerConfigPath();
  const config = await readConfig(path);
  let removed = false;
  for (const key of authKeys(registry)) {
    if (config.auths?.[key]) {
      delete config.auths[key];
      removed = true;
    }
  }
  if (removed) await writeConfig(path, config);
  return removed;
}
