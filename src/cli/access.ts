/**
 * `manifold user …` and `manifold token …`: offline straight into a data directory (`--data`), or
 * online through a running registry's admin API (`--registry`, with an administrator's login).
 * A token's password is printed once, at creation.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { RegistryClient, RegistryClientError } from '../client/registry-client.js';
import { createToken, createUser, parseDuration, tokenView, userView } from '../registry/auth/management.js';
import { parseScopeSpecs } from '../registry/auth/scopes.js';
import { SqliteAuthStore } from '../store/auth/sqlite.js';
import { mkdirSync } from 'node:fs';
import { parseCreds, readStdin } from './common.js';

interface Target {
  data?: string;
  registry?: string;
  plainHttp?: boolean;
  creds?: string;
}

function addTarget(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'work offline on this data directory (default: ./data, env MANIFOLD_DATA)')
    .option('--registry <host[:port]>', 'work online through this registry\'s admin API (needs an administrator\'s login)')
    .option('--plain-http', 'with --registry: plain HTTP (loopback registries always are)')
    .option('--creds <user:password>', 'with --registry: credentials instead of the stored login');
}

/** Either side of the same operations: the auth store on disk, or the admin API. */
interface Backend {
  call(method: string, path: string, body?: unknown): Promise<unknown>;
  close(): void;
}

async function offline(dir: string, method: string, path: string, body: Record<string, unknown> | undefined, store: SqliteAuthStore): Promise<unknown> {
  const [, collection, name] = /^\/(users|tokens)(?:\/(.+))?$/.exec(path)!;
  if (collection === 'users') {
    if (method === 'GET') return { users: store.listUsers().map(userView) };
    if (method === 'POST') return createUser(store, { name: body!.name, password: body!.password, admin: body!.admin });
    if (!store.deleteUser(name!)) throw new Error(`no user ${JSON.stringify(name)} in ${dir}`);
    return undefined;
  }
  if (method === 'GET') return { tokens: store.listTokens().map((t) => tokenView(t)) };
  if (method === 'POST') {
    const expires = body!.expiresIn as string | undefined;
    return createToken(store, { name: body!.name, scopes: parseScopeSpecs(body!.scopes as string[]), expiresInMs: expires === undefined ? undefined : parseDuration(expires) });
  }
  if (method === 'PATCH') {
    if (!store.setTokenDisabled(name!, body!.disabled as boolean)) throw new Error(`no token ${JSON.stringify(name)} in ${dir}`);
    return tokenView(store.getToken(name!)!);
  }
  if (!store.deleteToken(name!)) throw new Error(`no token ${JSON.stringify(name)} in ${dir}`);
  return undefined;
}

function backend(t: Target): Backend {
  if (t.registry) {
    if (t.data) throw new Error('--data and --registry exclude each other');
    const client = new RegistryClient(t.registry, { plainHttp: t.plainHttp, credentials: parseCreds(t.creds) });
    return {
      async call(method, path, body) {
        const res = await client
          .request({
            method,
            path: `/manifold/v1${path}`,
            headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
            body: body === undefined ? undefined : () => Buffer.from(JSON.stringify(body)),
            scopes: [],
            ok: [200, 201, 204],
          })
          .catch((e: unknown) => {
            throw e instanceof RegistryClientError ? new Error(e.message) : e;
          });
        return res.status === 204 ? undefined : res.json();
      },
      close() {},
    };
  }
  const dir = t.data ?? process.env.MANIFOLD_DATA ?? './data';
  mkdirSync(dir, { recursive: true });
  const store = new SqliteAuthStore(join(dir, 'auth.db'));
  return {
    call: (method, path, body) => offline(dir, method, path, body as Record<string, unknown> | undefined, store),
    close: () => store.close(),
  };
}

async function run(t: Target, method: string, path: string, body?: unknown): Promise<unknown> {
  const b = backend(t);
  try {
    return await b.call(method, path, body);
  } finally {
    b.close();
  }
}

const print = (v: unknown): void => {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
};

export function registerAccess(program: Command): void {
  const user = program.command('user').description('Manage users (offline with --data, online with --registry)');
  addTarget(
    user
      .command('create')
      .description('Create a user; the password comes from stdin (--password-stdin) or -p')
      .argument('<name>', 'user name')
      .option('--admin', 'may manage users and tokens')
      .option('-p, --password <password>', 'password (prefer --password-stdin)')
      .option('--password-stdin', 'read the password from stdin'),
  )
    .addHelpText('after', '\nExample:\n  echo "$PASSWORD" | manifold user create alice --admin --password-stdin --data ./data')
    .action(async (name: string, o: Target & { admin?: boolean; password?: string; passwordStdin?: boolean }) => {
      const password = o.passwordStdin ? await readStdin() : o.password;
      if (password === undefined) throw new Error('no password: use --password-stdin or -p');
      print(await run(o, 'POST', '/users', { name, password, admin: Boolean(o.admin) }));
    });
  addTarget(user.command('list').description('List users (names and roles; never passwords)'))
    .addHelpText('after', '\nExample:\n  manifold user list --registry registry.example')
    .action(async (o: Target) => print(await run(o, 'GET', '/users')));
  addTarget(user.command('delete').description('Delete a user').argument('<name>', 'user name'))
    .addHelpText('after', '\nExample:\n  manifold user delete alice --data ./data')
    .action(async (name: string, o: Target) => {
      await run(o, 'DELETE', `/users/${encodeURIComponent(name)}`);
      process.stderr.write(`deleted user ${name}\n`);
    });

  const token = program.command('token').description('Manage repository-scoped tokens (offline with --data, online with --registry)');
  addTarget(
    token
      .command('create')
      .description('Create a token; its password is printed once and cannot be shown again')
      .argument('<name>', 'token name (the user name clients log in with)')
      .argument('<scopes...>', 'REPO-PATTERN:ACTIONS, e.g. team/*:content/read,content/write (actions: content/read, content/write, content/delete, metadata/read, metadata/write)')
      .option('--expires <duration>', 'lifetime, e.g. 3600, 45m, 12h, 30d (default: never)'),
  )
    .addHelpText('after', '\nExample:\n  manifold token create ci-push "team/*:content/read,content/write" --expires 30d --data ./data')
    .action(async (name: string, scopes: string[], o: Target & { expires?: string }) => {
      parseScopeSpecs(scopes); // fail before touching anything
      if (o.expires !== undefined) parseDuration(o.expires);
      print(await run(o, 'POST', '/tokens', { name, scopes, expiresIn: o.expires }));
    });
  addTarget(token.command('list').description('List tokens with their scopes, expiry and state (never their passwords)'))
    .addHelpText('after', '\nExample:\n  manifold token list --data ./data')
    .action(async (o: Target) => print(await run(o, 'GET', '/tokens')));
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    addTarget(token.command(verb).description(`${disabled ? 'Disable' : 'Re-enable'} a token`).argument('<name>', 'token name'))
      .addHelpText('after', `\nExample:\n  manifold token ${verb} ci-push --data ./data`)
      .action(async (name: string, o: Target) => print(await run(o, 'PATCH', `/tokens/${encodeURIComponent(name)}`, { disabled })));
  }
  addTarget(token.command('delete').description('Delete a token').argument('<name>', 'token name'))
    .addHelpText('after', '\nExample:\n  manifold token delete ci-push --data ./data')
    .action(async (name: string, o: Target) => {
      await run(o, 'DELETE', `/tokens/${encodeURIComponent(name)}`);
      process.stderr.write(`deleted token ${name}\n`);
    });
}
