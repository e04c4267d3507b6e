/**
 * `manifold import`: asks a Manifold registry to copy an image from another registry itself
 * (server-side), then shows the job's progress until it ends, unless --no-wait.
 */
import type { Command } from 'commander';
import { loadCredentials, type Credentials } from '../client/credentials.js';
import { RegistryClient } from '../client/registry-client.js';
import { parseReference } from '../oci/reference.js';
import type { ImportStatus } from '../registry/imports/jobs.js';
import { collect, parseCreds, readStdin } from './common.js';
import { formatBytes, progressView } from './progress.js';

interface ImportFlags {
  source: string;
  image?: string[];
  repository?: string;
  force?: boolean;
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  platform?: string[];
  wait: boolean;
  registry: string;
  plainHttp?: boolean;
  creds?: string;
  sourcePlainHttp?: boolean;
  quiet?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Credentials for the source: given on the command line, else the user's stored login for it. */
async function sourceCredentials(flags: ImportFlags, sourceRegistry: string): Promise<Credentials | undefined> {
  if (flags.username !== undefined) {
    const password = flags.passwordStdin ? await readStdin() : flags.password;
    if (password === undefined) throw new Error('--username needs --password-stdin (or --password)');
    return { username: flags.username, password };
  }
  if (flags.passwordStdin || flags.password !== undefined) throw new Error('a source password needs --username');
  return loadCredentials(sourceRegistry);
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Have a Manifold registry import an image (every platform, same digests) from another registry, server-side')
    .requiredOption('--source <reference>', 'image to import: REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST')
    .option('--image <repo:tag>', 'target in this registry (repeatable)', collect)
    .option('--repository <repo>', 'also (or only) import into this repository untagged, by digest')
    .option('--force', 'overwrite target tags that exist')
    .option('--platform <os/arch[/variant]>', 'import only these platforms, as a reduced index with its own digest (repeatable)', collect)
    .option('-u, --username <user>', 'user for the source registry (default: your stored login for it, else anonymous)')
    .option('--password <password>', 'password for the source (prefer --password-stdin)')
    .option('--password-stdin', 'read the source password from stdin')
    .option('--no-wait', 'print the job id and return; poll with GET /manifold/v1/imports/ID')
    .option('--registry <host[:port]>', 'the Manifold registry that imports (env MANIFOLD_REGISTRY)', process.env.MANIFOLD_REGISTRY ?? '127.0.0.1:5000')
    .option('--plain-http', 'plain HTTP to --registry (loopback always is)')
    .option('--creds <user:password>', 'credentials for --registry instead of the stored login')
    .option('--source-plain-http', 'the source speaks plain HTTP (loopback sources always do)')
    .option('-q, --quiet', 'print only the resulting digest')
    .addHelpText(
      'after',
      '\nExamples:\n  manifold import --source registry.example/library/app:1.0 --image app:1.0\n  manifold import --source registry.example/app:1.0 --image app:1.0 --platform linux/arm64 --platform linux/amd64\n  echo "$PW" | manifold import --source private.example/app@sha256:… --repository app -u bob --password-stdin',
    )
    .action(async (flags: ImportFlags) => {
      const source = parseReference(flags.source);
      const credentials = await sourceCredentials(flags, source.registry);
      const client = new RegistryClient(flags.registry, { plainHttp: flags.plainHttp, credentials: parseCreds(flags.creds) });
      const targets = [...(flags.image ?? []).map((i) => i.split(':')[0]!), ...(flags.repository ? [flags.repository] : [])];
      const body = {
        source: flags.source,
        images: flags.image ?? [],
        repository: flags.repository,
        force: Boolean(flags.force),
        platforms: flags.platform ?? [],
        credentials,
        sourcePlainHttp: Boolean(flags.sourcePlainHttp),
      };
      const started = await client.request({
        method: 'POST',
        path: '/manifold/v1/imports',
        headers: { 'Content-Type': 'application/json' },
        body: () => Buffer.from(JSON.stringify(body)),
        scopes: targets.map((r) => `repository:${r}:pull,push`),
        ok: [202],
      });
      let job = (await started.json()) as ImportStatus;
      if (!flags.wait) {
        process.stdout.write(`${job.id}\n`);
        return;
      }
      const view = progressView({ quiet: flags.quiet });
      const seen = new Map<string, string>();
      try {
        while (job.phase !== 'succeeded' && job.phase !== 'failed') {
          await sleep(300);
          const res = await client.request({ method: 'GET', path: `/manifold/v1/imports/${job.id}`, scopes: targets.slice(0, 1).map((r) => `repository:${r}:pull`), ok: [200] });
          job = (await res.json()) as ImportStatus;
          for (const b of job.blobs) {
            const key = `${b.state}:${b.bytes}`;
            if (seen.get(b.digest) === key) continue;
            seen.set(b.digest, key);
            view.onEvent({ type: 'blob', ...b });
          }
        }
      } finally {
        view.finish();
      }
      if (job.phase === 'failed') throw new Error(`import of ${job.source} failed: ${job.error}`);
      if (!flags.quiet) {
        process.stderr.write(
          `imported ${job.source} → ${job.targets.join(', ')} (${job.platforms.join(', ') || 'no platforms'}): ${job.copied} blob(s) copied (${formatBytes(job.bytesCopied)}), ${job.linked} linked, ${job.present} already there\n`,
        );
        if (job.sparse) process.stderr.write(`note: only ${job.platforms.join(', ')} imported, under a reduced index whose digest differs from the source's\n`);
      }
      process.stdout.write(`${job.digest}\n`);
    });
}
