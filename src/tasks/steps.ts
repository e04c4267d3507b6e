/**
 * What each kind of step does. `build`: a builder puts the image into the run's store. `push`:
 * checks that every listed image was built (so a typo fails before anything is pushed), then
 * copies each from the store to the registry. `cmd`: `docker manifest …` and `manifold …` run
 * through Manifold's own commands in this process (no Docker needed); any other image runs with
 * `podman run`, with the context mounted at /workspace as acb mounts it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { buildImage, type BuilderName } from '../build/index.js';
import { onPath, runProcess } from '../build/process.js';
import type { ImageStore } from '../build/store.js';
import { copyImage } from '../client/copy.js';
import { RemoteSink } from '../client/remote.js';
import type { Clients } from '../client/transports.js';
import type { Platform } from '../oci/platform.js';
import { isLoopbackRegistry, parseReference } from '../oci/reference.js';
import { parseBuildArgs } from './build-args.js';
import type { Executor, StepIO } from './scheduler.js';
import type { Step, Task } from './schema.js';
import { splitWords } from './words.js';

export interface RunEnvironment {
  runId: string;
  /** The build context (CONTEXT_DIR). */
  contextDir: string;
  store: ImageStore;
  clients: Clients;
  /** Scratch space the run owns and removes. */
  workDir: string;
  builder: BuilderName | 'auto';
  /** `manifold run --platform`: the platform of build steps that name none. */
  platform?: Platform;
  /** Runs `manifold ARGS…` in this process, output line by line to `log`. */
  manifold(args: string[], log: (line: string) => void): Promise<void>;
}

/** Levenshtein distance, to suggest the image a misspelt name meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

export function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(3, Math.floor(name.length / 10)) ? best : undefined;
}

/** The step's working directory: `workingDirectory` relative to the context, or the context. */
function stepDir(env: RunEnvironment, step: Step): string {
  return step.workingDirectory ? resolve(env.contextDir, step.workingDirectory) : env.contextDir;
}

function envMap(step: Step): Record<string, string | undefined> {
  const own = Object.fromEntries(step.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return { ...process.env, ...own };
}

async function build(env: RunEnvironment, step: Step, io: StepIO): Promise<void> {
  const args = parseBuildArgs(step.build!, envMap(step));
  const dir = stepDir(env, step);
  const contextDir = resolve(dir, args.context);
  const dockerfile = args.file ? (isAbsolute(args.file) ? args.file : resolve(dir, args.file)) : join(contextDir, 'Dockerfile');
  const tags = args.tags.map((t) => env.store.canonical(t));
  const result = await buildImage(
    {
      contextDir,
      dockerfile,
      tags,
      buildArgs: args.buildArgs,
      target: args.target,
      platform: args.platform ?? env.platform,
      labels: args.labels,
      builder: args.builder ?? env.builder,
      noCache: args.noCache,
      pull: args.pull,
      store: env.store,
      clients: env.clients,
      workDir: env.workDir,
      log: io.log,
      signal: io.signal,
    },
    step.id,
  );
  for (const t of tags) {
    io.log(`built ${t} (${result.platform}, ${result.builder}): ${result.digest}`);
    io.produced({ reference: t, digest: result.digest, action: 'built', platforms: [result.platform] });
  }
}

async function push(env: RunEnvironment, step: Step, io: StepIO): Promise<void> {
  const images = [...new Set(step.push!.map((p) => env.store.canonical(p)))];
  const built = env.store.list().map((i) => i.reference);
  const missing = images.filter((i) => !env.store.get(i));
  if (missing.length) {
    const hints = missing.map((m) => {
      const near = closest(m, built);
      return near ? `${m} (did you mean ${near}?)` : m;
    });
    throw new Error(
      `cannot push ${hints.join(', ')}: no build step of this run built ${missing.length > 1 ? 'them' : 'it'} (built: ${built.join(', ') || 'nothing'}); nothing was pushed`,
    );
  }
  for (const image of images) {
    const ref = parseReference(image);
    const result = await copyImage(env.store.source(image), new RemoteSink(env.clients.for(ref.registry), ref), { platforms: { mode: 'all' }, tag: ref.tag ?? 'latest' });
    const b = result.blobs;
    io.log(`pushed ${image}: ${result.digest} (${b.transferred} blob(s) uploaded, ${b.mounted} mounted, ${b.existing} already there)`);
    io.produced({ reference: image, digest: result.digest, action: 'pushed', platforms: result.platforms });
  }
}

const IN_PROCESS_REFUSED = new Set(['serve', 'run', 'login', 'logout']);

async function cmd(env: RunEnvironment, task: Task, step: Step, io: StepIO): Promise<void> {
  const words = splitWords(step.cmd!);
  if (words[0] === 'docker') {
    if (words[1] !== 'manifest') {
      throw new Error(`"docker ${words[1] ?? ''}" does not run here (there is no Docker daemon): only docker manifest … runs, through Manifold; use build and push steps to build and push`);
    }
    return inProcess(env, ['manifest', ...words.slice(2)], io);
  }
  if (words[0] === 'manifold') {
    if (IN_PROCESS_REFUSED.has(words[1] ?? '')) throw new Error(`manifold ${words[1]} cannot run as a task step`);
    return inProcess(env, words.slice(1), io);
  }
  await podman(env, task, step, words, io);
}

/** Runs a manifold command in-process; a list it pushes is reported in the summary. */
async function inProcess(env: RunEnvironment, args: string[], io: StepIO): Promise<void> {
  const out: string[] = [];
  await env.manifold(args, (line) => {
    out.push(line);
    io.log(line);
  });
  if (args[0] === 'manifest' && (args[1] === 'push' || (args[1] === 'create' && args.includes('--push')))) {
    const digest = out.find((l) => /^sha256:[0-9a-f]{64}$/.test(l));
    // The list is the first operand: skip flags and the value of --creds, the one flag that takes one.
    const list = args.slice(2).filter((a, i, all) => !a.startsWith('-') && all[i - 1] !== '--creds')[0];
    if (digest && list) io.produced({ reference: env.store.canonical(list), digest, action: 'manifest' });
  }
}

async function podman(env: RunEnvironment, task: Task, step: Step, words: string[], io: StepIO): Promise<void> {
  const [image, ...rest] = words;
  if (!(await onPath('podman'))) {
    throw new Error(`this step runs the image ${image}, which needs podman, and podman is not installed (apt-get install podman); docker manifest … and manifold … steps need nothing`);
  }
  const args = ['run', step.keep ? '' : '--rm', step.detach ? '-d' : '', '--name', `${env.runId}-${step.id}`.replace(/[^a-zA-Z0-9_.-]/g, '_')].filter(Boolean);
  const wd = step.workingDirectory ?? '';
  args.push('-v', `${env.contextDir}:/workspace`, '-w', posix.isAbsolute(wd) ? wd : posix.join('/workspace', wd));
  for (const e of step.env) args.push('-e', e);
  if (step.entryPoint) args.push('--entrypoint', step.entryPoint);
  if (step.user) args.push('--user', step.user);
  if (step.privileged) args.push('--privileged');
  if (step.pull) args.push('--pull', 'always');
  for (const p of step.ports) args.push('-p', p);
  for (const p of step.expose) args.push('--expose', p);
  for (const m of step.volumeMounts) {
    const vol = task.volumes.find((v) => v.name === m.name)!;
    const dir = join(env.workDir, 'volumes', vol.name);
    await mkdir(dir, { recursive: true });
    for (const [file, b64] of Object.entries(vol.secret)) await writeFile(join(dir, file), Buffer.from(b64, 'base64'), { mode: 0o600 });
    args.push('-v', `${dir}:${m.mountPath}:ro`);
  }
  try {
    if (isLoopbackRegistry(parseReference(image!).registry)) args.push('--tls-verify=false');
  } catch {
    throw new Error(`cmd: "${image}" is not an image reference (a cmd step is IMAGE [ARGS…], docker manifest …, or manifold …)`);
  }
  args.push(image!, ...rest);
  await runProcess('podman', args, { log: io.log, signal: io.signal });
}

export function stepExecutor(env: RunEnvironment, task: Task): Executor {
  return async (step, io) => {
    switch (step.kind) {
      case 'build':
        return build(env, step, io);
      case 'push':
        return push(env, step, io);
      case 'cmd':
        return cmd(env, task, step, io);
    }
  };
}
