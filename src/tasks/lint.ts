/**
 * Warnings about a task that parses but will not do what its author meant: a push of an image no
 * build step makes (with the likely intended name), `docker manifest create` over images nothing
 * builds or pushes, two images of one platform in a manifest list, an image whose name says one
 * architecture built from a Dockerfile that says another (swapped Dockerfiles), a Dockerfile
 * that is missing or needs a tool or emulator this machine lacks, and acb options that do nothing here.
 */
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { emulationProblem } from '../build/binfmt.js';
import { builtinLimitation, platformArgs } from '../build/builtin.js';
import { expandVars, globalArgValues, parseDockerfile, targetStage } from '../build/dockerfile.js';
import { onPath } from '../build/process.js';
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { formatReference, parseReference } from '../oci/reference.js';
import { parseBuildArgs, type BuildArgs } from './build-args.js';
import { dependencies } from './graph.js';
import type { Issue, Step, Task } from './schema.js';
import { closest } from './steps.js';
import { splitWords } from './words.js';

export interface LintOptions {
  contextDir: string;
  registry: string;
  /** `manifold run --platform`. */
  platform?: Platform;
}

/** Architecture words as they appear in image tags and file names. */
const ARCH_WORDS: Record<string, string> = {
  amd64: 'amd64', x86_64: 'amd64', x64: 'amd64',
  arm64: 'arm64', aarch64: 'arm64', arm64v8: 'arm64',
  arm: 'arm', armv7: 'arm', arm32v7: 'arm', armhf: 'arm', arm32v6: 'arm', armv6: 'arm',
  '386': '386', i386: '386', x86: '386',
  ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64',
};

/** The architecture a name mentions as a separate word (`app:1-arm64`, `dockerfile.amd64`). */
export function archIn(name: string): string | undefined {
  const words = name.toLowerCase().split(/[^a-z0-9_]+|_/).filter(Boolean);
  const found = words.map((w) => ARCH_WORDS[w]).filter(Boolean);
  return found.length ? found[found.length - 1] : undefined;
}

interface BuildInfo {
  step: Step;
  args: BuildArgs;
  tags: string[];
  dockerfile: string;
  /** The platform the build declares (--platform, or the target stage's FROM --platform), when it names one. */
  declared?: { platform: Platform; source: string };
}

/** An image name in canonical form, or undefined after a warning when it is not a valid reference. */
type RefOf = (image: string, step: Step, line: number) => string | undefined;

function canonical(text: string, registry: string): string {
  return formatReference(parseReference(text, { defaultRegistry: registry }));
}

/** Steps that must finish before `id` starts (its transitive `when`). */
function ancestors(deps: Map<string, string[]>, id: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(deps.get(id) ?? [])];
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...(deps.get(d) ?? []));
  }
  return seen;
}

export async function lintTask(task: Task, options: LintOptions): Promise<Issue[]> {
  const warnings: Issue[] = [];
  const warn = (line: number, message: string) => warnings.push({ line, message });
  const deps = dependencies(task.steps);
  const builds: BuildInfo[] = [];

  for (const s of task.secrets) warn(s.line, `secret "${s.id}": Azure Key Vault secrets are not resolved by this runner; the run will refuse to start`);
  for (const step of task.steps) {
    for (const p of step.ignored) warn(p.line, `step ${step.id}: ${p.name} has no effect here (accepted for acb compatibility)`);
    if (step.kind !== 'cmd') for (const p of ['detach', 'keep', 'entryPoint', 'user', 'privileged', 'ports', 'expose'] as const) {
      if (step.lines[p]) warn(step.lines[p]!, `step ${step.id}: ${p} applies to cmd steps that run a container; it does nothing on a ${step.kind} step`);
    }
    if (step.kind !== 'build') continue;
    let args: BuildArgs;
    try {
      args = parseBuildArgs(step.build!, {});
    } catch (e) {
      warn(step.lines.build ?? step.line, `step ${step.id}: ${(e as Error).message}`);
      continue;
    }
    const dir = step.workingDirectory ? resolve(options.contextDir, step.workingDirectory) : options.contextDir;
    const ctx = resolve(dir, args.context);
    const dockerfile = args.file ? (isAbsolute(args.file) ? args.file : resolve(dir, args.file)) : join(ctx, 'Dockerfile');
    const info: BuildInfo = { step, args, tags: args.tags.map((t) => canonical(t, options.registry)), dockerfile };
    builds.push(info);
    if (args.tags.length === 0) warn(step.lines.build ?? step.line, `step ${step.id} builds an image without -t: no push step can name it`);
    await lintDockerfile(info, options, warn);
  }

  const producers = new Map<string, BuildInfo>();
  for (const b of builds) for (const t of b.tags) producers.set(t, b);
  const built = [...producers.keys()];
  const pushedBy = new Map<string, Step>();
  const refOf: RefOf = (image, step, line) => {
    try {
      return canonical(image, options.registry);
    } catch (e) {
      warn(line, `step ${step.id}: ${(e as Error).message}`);
      return undefined;
    }
  };

  for (const step of task.steps) {
    const line = step.lines[step.kind] ?? step.line;
    if (step.kind === 'push') {
      for (const image of step.push!) {
        const ref = refOf(image, step, line);
        if (!ref) continue;
        pushedBy.set(ref, step);
        const producer = producers.get(ref);
        if (!producer) {
          const near = closest(ref, built);
          warn(line, `step ${step.id} pushes ${ref}, which no build step produces${near ? ` (did you mean ${near}, built by ${producers.get(near)!.step.id}?)` : ''}`);
        } else if (!ancestors(deps, step.id).has(producer.step.id)) {
          warn(line, `step ${step.id} pushes ${ref} but does not wait for ${producer.step.id}, which builds it (add it to when)`);
        }
      }
    }
    if (step.kind === 'cmd') lintManifestCreate(step, line, refOf, producers, pushedBy, deps, warn);
  }
  return warnings.sort((a, b) => a.line - b.line);
}

async function lintDockerfile(info: BuildInfo, options: LintOptions, warn: (line: number, message: string) => void): Promise<void> {
  const { step, args } = info;
  const line = step.lines.build ?? step.line;
  const file = basename(info.dockerfile);
  let text: string;
  try {
    text = await readFile(info.dockerfile, 'utf8');
  } catch {
    warn(line, `step ${step.id}: Dockerfile ${info.dockerfile} not found`);
    return;
  }
  let target: Platform | undefined = args.platform ?? options.platform;
  try {
    const df = parseDockerfile(text, file);
    const stage = targetStage(df, args.target, file);
    const globals = globalArgValues(df, args.buildArgs, platformArgs(target ?? hostPlatform()));
    const fromPlatform = stage.platform && !stage.platform.includes('$') ? parsePlatform(expandVars(stage.platform, globals)) : undefined;
    if (args.platform) info.declared = { platform: args.platform, source: `--platform ${formatPlatform(args.platform)}` };
    else if (fromPlatform) info.declared = { platform: fromPlatform, source: `${file}'s FROM --platform=${formatPlatform(fromPlatform)}` };
    target ??= fromPlatform;
    const limitation = builtinLimitation(df, stage, file);
    if (limitation && !(await onPath('buildah'))) warn(line, `step ${step.id}: ${limitation}, and buildah is not installed`);
    if (limitation && df.stages.some((s) => s.instructions.some((i) => i.name === 'RUN'))) {
      const problem = await emulationProblem(target ?? hostPlatform());
      if (problem) warn(line, `step ${step.id}: ${problem}`);
    }
  } catch (e) {
    warn(line, `step ${step.id}: ${(e as Error).message}`);
    return;
  }
  // Names that say one architecture while the build says another: the swapped-Dockerfile mistake.
  const fileArch = archIn(file);
  for (const tag of info.tags) {
    const tagArch = archIn(tag.slice(tag.lastIndexOf(':') + 1)) ?? archIn(tag);
    if (!tagArch) continue;
    const declaredArch = info.declared && normalizePlatform(info.declared.platform).architecture;
    if (declaredArch && declaredArch !== tagArch) {
      warn(line, `step ${step.id}: ${tag} is named for ${tagArch} but is built for ${formatPlatform(info.declared!.platform)} (${info.declared!.source}): are the Dockerfiles swapped?`);
    } else if (fileArch && fileArch !== tagArch) {
      warn(line, `step ${step.id}: ${tag} is named for ${tagArch} but is built from ${file}, named for ${fileArch}: are the Dockerfiles swapped?`);
    }
  }
}

function lintManifestCreate(
  step: Step,
  line: number,
  refOf: RefOf,
  producers: Map<string, BuildInfo>,
  pushedBy: Map<string, Step>,
  deps: Map<string, string[]>,
  warn: (line: number, message: string) => void,
): void {
  let words: string[];
  try {
    words = splitWords(step.cmd!);
  } catch (e) {
    warn(line, `step ${step.id}: ${(e as Error).message}`);
    return;
  }
  const offset = words[0] === 'docker' && words[1] === 'manifest' ? 2 : words[0] === 'manifold' && words[1] === 'manifest' ? 2 : -1;
  if (offset < 0 || words[offset] !== 'create') return;
  const positional = words.slice(offset + 1).filter((w) => !w.startsWith('-'));
  const [list, ...images] = positional;
  if (!list) return;
  const before = ancestors(deps, step.id);
  const platforms = new Map<string, string[]>();
  for (const image of images) {
    const ref = refOf(image, step, line);
    if (!ref) continue;
    const producer = producers.get(ref);
    if (!producer) {
      const near = closest(ref, [...producers.keys()]);
      warn(line, `step ${step.id}: docker manifest create lists ${ref}, which no build step produces${near ? ` (did you mean ${near}?)` : ''}`);
      continue;
    }
    const pusher = pushedBy.get(ref);
    if (!pusher) warn(line, `step ${step.id}: docker manifest create lists ${ref}, which is built but no push step pushes it (manifest create reads images from the registry)`);
    else if (!before.has(pusher.id)) warn(line, `step ${step.id}: docker manifest create lists ${ref} but does not wait for ${pusher.id}, which pushes it`);
    if (producer.declared) {
      const key = formatPlatform(normalizePlatform(producer.declared.platform));
      platforms.set(key, [...(platforms.get(key) ?? []), ref]);
    }
  }
  for (const [platform, refs] of platforms) {
    if (refs.length > 1) warn(line, `step ${step.id}: the manifest list ${list} would hold ${refs.length} images for ${platform} (${refs.join(', ')}): a client could not tell them apart`);
  }
}
