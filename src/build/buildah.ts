/**
 * The buildah backend, for Dockerfiles that execute something (RUN): daemonless, with
 * `--isolation chroot` (the default OCI runtime cannot run containers in unprivileged sandboxes)
 * and the vfs storage driver in a storage root the run owns. The result is pushed into the run's
 * image store. Loopback registries are marked insecure in a registries.conf of the run's own,
 * since they speak plain HTTP; buildah fails when DOCKER_CONFIG has no config.json, so the run
 * supplies one when the user's has none.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { imagePlatform } from '../client/copy.js';
import { dockerConfigPath } from '../client/credentials.js';
import { OciLayoutSource } from '../client/oci-layout.js';
import { parseManifest } from '../oci/manifest.js';
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { isLoopbackRegistry, parseReference } from '../oci/reference.js';
import { emulationProblem } from './binfmt.js';
import { platformArgs } from './builtin.js';
import { expandVars, globalArgValues, type Dockerfile } from './dockerfile.js';
import { runProcess } from './process.js';
import type { BuildRequest, BuildResult } from './request.js';

/** buildah's spelling of a platform: arm64 gets its v8 variant, so TARGETPLATFORM/TARGETVARIANT come out as docker's. */
export function buildahPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return n.architecture === 'arm64' ? `${n.os}/arm64/${n.variant ?? 'v8'}` : formatPlatform(n);
}

/** Registries named by FROM lines and tags that are loopback, hence plain HTTP. */
function loopbackRegistries(request: BuildRequest, df: Dockerfile, globals: Record<string, string>): string[] {
  const names = [...request.tags, ...df.stages.map((s) => expandVars(s.from, globals))];
  const hosts = new Set<string>();
  for (const n of names) {
    try {
      const r = parseReference(n);
      if (isLoopbackRegistry(r.registry)) hosts.add(r.registry);
    } catch {
      // a stage name or scratch
    }
  }
  return [...hosts];
}

export async function buildahEnvironment(workDir: string, insecure: string[]): Promise<{ env: NodeJS.ProcessEnv; storage: string[] }> {
  const dir = join(workDir, 'buildah');
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'registries.conf');
  await writeFile(conf, ['unqualified-search-registries = ["docker.io"]', 'short-name-mode = "permissive"', ...insecure.flatMap((h) => ['[[registry]]', `location = "${h}"`, 'insecure = true'])].join('\n') + '\n');
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_REGISTRIES_CONF: conf, BUILDAH_ISOLATION: 'chroot' };
  if (!(await access(dockerConfigPath()).then(() => true, () => false))) {
    const dockerDir = join(dir, 'docker-config');
    await mkdir(dockerDir, { recursive: true });
    await writeFile(join(dockerDir, 'config.json'), '{}\n');
    env.DOCKER_CONFIG = dockerDir;
  }
  return { env, storage: ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs'] };
}

export async function buildWithBuildah(request: BuildRequest, df: Dockerfile): Promise<BuildResult> {
  const target = request.platform ?? hostPlatform();
  const globals = globalArgValues(df, request.buildArgs, platformArgs(target));
  if (df.stages.some((s) => s.instructions.some((i) => i.name === 'RUN'))) {
    // Every stage's platform matters: FROM --platform=$BUILDPLATFORM stages run natively.
    for (const s of df.stages) {
      if (!s.instructions.some((i) => i.name === 'RUN')) continue;
      const p = s.platform ? parsePlatform(expandVars(s.platform, globals)) : target;
      const problem = await emulationProblem(p);
      if (problem) throw new Error(`${basename(request.dockerfile)}:${s.line}: ${problem}`);
    }
  }
  const { env, storage } = await buildahEnvironment(request.workDir, loopbackRegistries(request, df, globals));
  const name = request.tags[0]!;
  const args = [...storage, 'bud', '--isolation', 'chroot', '-f', request.dockerfile, '-t', name];
  if (request.platform) args.push('--platform', buildahPlatform(request.platform));
  for (const [k, v] of Object.entries(request.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(request.labels)) args.push('--label', `${k}=${v}`);
  if (request.target) args.push('--target', request.target);
  if (request.noCache) args.push('--no-cache');
  if (request.pull) args.push('--pull-always');
  args.push(request.contextDir);
  const run = (a: string[]) => runProcess('buildah', a, { env, cwd: request.contextDir, log: request.log, signal: request.signal });
  await run(args);
  const { dir, tag } = request.store.layout(name);
  await mkdir(dir, { recursive: true });
  await run([...storage, 'push', '--quiet', name, `oci:${dir}:${tag}`]);
  const layout = new OciLayoutSource(dir, tag);
  const root = await layout.root();
  const platform = await imagePlatform(layout, parseManifest(root.bytes, root.mediaType));
  return { digest: root.digest, platform: platform ? formatPlatform(platform) : formatPlatform(target), builder: 'buildah' };
}
