/**
 * The builtin builder: Dockerfiles that only assemble files and metadata (FROM, COPY, ADD, ENV,
 * ARG, LABEL, WORKDIR, USER, EXPOSE, CMD, ENTRYPOINT, VOLUME, STOPSIGNAL, SHELL) need no
 * container runtime: the base image's manifest for the wanted platform is fetched with the
 * registry client, each COPY/ADD becomes one new layer, and the config gets the new metadata and
 * history. Any architecture builds the same way, since nothing is executed.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { basename, posix, relative } from 'node:path';
import { copyImage } from '../client/copy.js';
import { OciLayoutSink, OciLayoutSource } from '../client/oci-layout.js';
import { RemoteSource } from '../client/remote.js';
import { digestOf } from '../oci/digest.js';
import { MediaType } from '../oci/mediatypes.js';
import { parseManifest } from '../oci/manifest.js';
import { formatPlatform, hostPlatform, parsePlatform, platformOfImageConfig, type Platform } from '../oci/platform.js';
import { parseReference } from '../oci/reference.js';
import { expandVars, globalArgValues, parsePairs, targetStage, type Dockerfile, type Instruction, type Stage } from './dockerfile.js';
import { copyEntries, dockerignore, expandSource, isLocalTar, tarEntries, writeLayer, type LayerEntry, type Ownership } from './layer.js';
import type { BuildRequest, BuildResult } from './request.js';

const METADATA = new Set(['ENV', 'ARG', 'LABEL', 'WORKDIR', 'USER', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'VOLUME', 'STOPSIGNAL', 'SHELL', 'MAINTAINER']);
const COPY_FLAGS = new Set(['chown', 'chmod', 'link']);

/** Why the builtin builder cannot build this stage (undefined: it can). */
export function builtinLimitation(df: Dockerfile, stage: Stage, file: string): string | undefined {
  if (df.stages.some((s) => s.name && s.name === stage.from.toLowerCase())) return `${file}:${stage.line}: FROM another stage (${stage.from}) needs buildah`;
  for (const ins of stage.instructions) {
    if (ins.name === 'COPY' || ins.name === 'ADD') {
      const bad = Object.keys(ins.flags).find((f) => !COPY_FLAGS.has(f));
      if (bad) return `${file}:${ins.line}: ${ins.name} --${bad} needs buildah`;
      if (ins.flags.chown && !/^\d+(:\d+)?$/.test(ins.flags.chown)) return `${file}:${ins.line}: ${ins.name} --chown=${ins.flags.chown} names a user, which needs the image's /etc/passwd (buildah)`;
      continue;
    }
    if (!METADATA.has(ins.name)) return `${file}:${ins.line}: ${ins.name} needs buildah`;
  }
  return undefined;
}

/** BuildKit's automatic platform ARGs. */
export function platformArgs(target: Platform): Record<string, string> {
  const build = hostPlatform();
  return {
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
  };
}

interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: Record<string, unknown>;
  rootfs?: { type: string; diff_ids: string[] };
  history?: Record<string, unknown>[];
  [k: string]: unknown;
}

interface Base {
  config: ImageConfig;
  manifest?: { mediaType: string; layers: unknown[] };
  docker: boolean;
}

/** Fetches the base image for `platform` into the layout (blobs only) and returns its config. */
async function pullBase(request: BuildRequest, image: string, platform: Platform, layoutDir: string): Promise<Base> {
  if (image === 'scratch') return { config: { rootfs: { type: 'layers', diff_ids: [] }, history: [], config: {} }, docker: false };
  const ref = parseReference(image);
  request.log(`FROM ${image} (${formatPlatform(platform)})`);
  const source = new RemoteSource(request.clients.for(ref.registry), ref);
  const result = await copyImage(source, new OciLayoutSink(layoutDir), { platforms: { mode: 'one', platform }, tag: '' });
  const layout = new OciLayoutSource(layoutDir);
  const m = await layout.manifest(result.digest);
  const parsed = parseManifest(m.bytes, m.mediaType);
  if (parsed.kind !== 'image' || !parsed.config) throw new Error(`${image}: not an image`);
  const chunks: Buffer[] = [];
  for await (const c of await layout.openBlob(parsed.config, 0)) chunks.push(c as Buffer);
  const config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ImageConfig;
  const doc = JSON.parse(m.bytes.toString('utf8')) as { layers: unknown[] };
  return { config, manifest: { mediaType: m.mediaType, layers: doc.layers }, docker: m.mediaType === MediaType.DockerManifest };
}

function shellForm(ins: Instruction, shell: string[]): string[] {
  return ins.json ?? [...shell, ins.args];
}

export async function buildBuiltin(request: BuildRequest, df: Dockerfile): Promise<BuildResult> {
  const file = basename(request.dockerfile);
  const stage = targetStage(df, request.target, file);
  const limitation = builtinLimitation(df, stage, file);
  if (limitation) throw new Error(`the builtin builder cannot build this: ${limitation}`);
  const target = request.platform ?? hostPlatform();
  const globals = globalArgValues(df, request.buildArgs, platformArgs(target));
  const fromImage = expandVars(stage.from, globals);
  const fromPlatform = stage.platform ? parsePlatform(expandVars(stage.platform, globals)) : undefined;
  const { dir: layoutDir, tag } = request.store.layout(request.tags[0]!);

  const base = await pullBase(request, fromImage, fromPlatform ?? target, layoutDir);
  // The image's platform: --platform when given, else the base's.
  const platform = request.platform ?? platformOfImageConfig(Buffer.from(JSON.stringify(base.config))) ?? fromPlatform ?? target;
  const cfg: ImageConfig = { ...base.config };
  const c: Record<string, unknown> = { ...(cfg.config ?? {}) };
  const diffIds = [...(cfg.rootfs?.diff_ids ?? [])];
  const history = [...(cfg.history ?? [])];
  const layers = [...(base.manifest?.layers ?? [])];
  const layerType = base.docker ? MediaType.DockerLayer : MediaType.OciLayerGzip;
  const now = new Date().toISOString();

  const env = new Map<string, string>(((c.Env as string[] | undefined) ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const args: Record<string, string> = {};
  const vars = () => ({ ...args, ...Object.fromEntries(env) });
  let shell = ['/bin/sh', '-c'];
  const ignore = await dockerignore(request.contextDir);
  const labels: Record<string, string> = { ...((c.Labels as Record<string, string> | undefined) ?? {}) };

  for (const ins of stage.instructions) {
    const text = `${ins.name} ${Object.entries(ins.flags).map(([k, v]) => `--${k}=${v} `).join('')}${ins.args}`;
    let emptyLayer = true;
    switch (ins.name) {
      case 'ARG':
        for (const [k, v] of parsePairs(ins.args, false)) {
          // A declared ARG sees the build arg, else its default, else a global or automatic value.
          args[k] = request.buildArgs[k] ?? (v !== undefined ? expandVars(v, vars()) : (globals[k] ?? ''));
        }
        break;
      case 'ENV':
        for (const [k, v] of parsePairs(ins.args, true)) env.set(k, expandVars(v ?? '', vars()));
        break;
      case 'LABEL':
        for (const [k, v] of parsePairs(ins.args, false)) labels[expandVars(k, vars())] = expandVars(v ?? '', vars());
        break;
      case 'MAINTAINER':
        labels.maintainer = ins.args;
        break;
      case 'WORKDIR': {
        const w = expandVars(ins.args, vars());
        c.WorkingDir = posix.resolve((c.WorkingDir as string | undefined) || '/', w);
        break;
      }
      case 'USER':
        c.User = expandVars(ins.args, vars());
        break;
      case 'EXPOSE': {
        const ports = { ...((c.ExposedPorts as Record<string, object> | undefined) ?? {}) };
        for (const p of expandVars(ins.args, vars()).split(/\s+/).filter(Boolean)) ports[p.includes('/') ? p : `${p}/tcp`] = {};
        c.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...((c.Volumes as Record<string, object> | undefined) ?? {}) };
        for (const v of ins.json ?? expandVars(ins.args, vars()).split(/\s+/).filter(Boolean)) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      case 'STOPSIGNAL':
        c.StopSignal = expandVars(ins.args, vars());
        break;
      case 'SHELL':
        if (!ins.json) throw new Error(`${file}:${ins.line}: SHELL takes a JSON array`);
        shell = ins.json;
        break;
      case 'CMD':
        c.Cmd = shellForm(ins, shell);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = shellForm(ins, shell);
        // Docker: a new ENTRYPOINT drops the CMD inherited from the base.
        if (!stage.instructions.some((i) => i.name === 'CMD' && i.line < ins.line)) delete c.Cmd;
        break;
      case 'COPY':
      case 'ADD': {
        const words = ins.json ?? expandVars(ins.args, vars()).split(/\s+/).filter(Boolean);
        if (words.length < 2) throw new Error(`${file}:${ins.line}: ${ins.name} needs a source and a destination`);
        const rawDest = words[words.length - 1]!;
        const dest = posix.isAbsolute(rawDest) ? rawDest : `${posix.resolve((c.WorkingDir as string | undefined) || '/', rawDest)}${rawDest.endsWith('/') ? '/' : ''}`;
        const own = ownership(ins);
        const entries = await addEntries(request, ins.name === 'ADD', words.slice(0, -1), dest, own, ignore);
        const layer = await writeLayer(layoutDir, entries);
        layers.push({ mediaType: layerType, digest: layer.digest, size: layer.size });
        diffIds.push(layer.diffId);
        request.log(`${text}: layer ${layer.digest.slice(7, 19)} (${entries.filter((e) => e.type === 'file').length} file(s))`);
        emptyLayer = false;
        break;
      }
      default:
        throw new Error(`${file}:${ins.line}: ${ins.name} is not supported by the builtin builder`);
    }
    history.push({ created: now, created_by: `${text} # manifold builtin`, ...(emptyLayer ? { empty_layer: true } : {}) });
  }
  c.Env = [...env].map(([k, v]) => `${k}=${v}`);
  for (const [k, v] of Object.entries(request.labels)) labels[k] = v;
  if (Object.keys(labels).length) c.Labels = labels;

  const out: ImageConfig = { ...cfg, created: now, architecture: platform.architecture, os: platform.os, config: c, rootfs: { type: 'layers', diff_ids: diffIds }, history };
  if (platform.variant) out.variant = platform.variant;
  else delete out.variant;
  const configBytes = Buffer.from(JSON.stringify(out));
  const configType = base.docker ? MediaType.DockerConfig : MediaType.OciConfig;
  const manifestType = base.docker ? MediaType.DockerManifest : MediaType.OciManifest;
  const sink = new OciLayoutSink(layoutDir, tag);
  const configDigest = digestOf(configBytes);
  await sink.putBlob({ digest: configDigest, size: configBytes.length, mediaType: configType }, async () => Readable.from([configBytes]), () => {});
  const manifestBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config: { mediaType: configType, digest: configDigest, size: configBytes.length }, layers }),
  );
  const digest = await sink.putManifest({ bytes: manifestBytes, mediaType: manifestType, digest: digestOf(manifestBytes) }, tag);
  await sink.close();
  return { digest, platform: formatPlatform(platform), builder: 'builtin' };
}

function ownership(ins: Instruction): Ownership {
  const own: Ownership = { uid: 0, gid: 0 };
  if (ins.flags.chown) {
    const [u, g] = ins.flags.chown.split(':');
    own.uid = Number(u);
    own.gid = Number(g ?? u);
  }
  if (ins.flags.chmod) {
    if (!/^[0-7]{3,4}$/.test(ins.flags.chmod)) throw new Error(`${ins.name} --chmod=${ins.flags.chmod}: expected an octal mode such as 755`);
    own.mode = Number.parseInt(ins.flags.chmod, 8);
  }
  return own;
}

/** COPY's entries, plus ADD's extras: local tar archives are unpacked, URLs downloaded. */
async function addEntries(request: BuildRequest, isAdd: boolean, sources: string[], dest: string, own: Ownership, ignore: (abs: string) => boolean): Promise<LayerEntry[]> {
  if (!isAdd) return copyEntries(request.contextDir, sources, dest, own, ignore);
  const entries: LayerEntry[] = [];
  const plain: string[] = [];
  for (const s of sources) {
    if (/^https?:\/\//.test(s)) {
      const res = await fetch(s, { signal: request.signal });
      if (!res.ok) throw new Error(`ADD ${s}: HTTP ${res.status}`);
      const data = Buffer.from(await res.arrayBuffer());
      const name = dest.endsWith('/') ? posix.join(dest, basename(new URL(s).pathname) || 'index.html') : dest;
      entries.push({ path: name.replace(/^\/+/, ''), type: 'file', mode: own.mode ?? 0o600, mtime: new Date(), uid: own.uid, gid: own.gid, data });
      continue;
    }
    plain.push(s);
  }
  // Several sources go into dest as a directory; each local tar archive is unpacked there.
  const into = plain.length + entries.length > 1 && !dest.endsWith('/') ? `${dest}/` : dest;
  for (const s of plain) {
    for (const abs of await expandSource(request.contextDir, s)) {
      const rel = relative(request.contextDir, abs);
      entries.push(...((await isLocalTar(abs)) ? await tarEntries(abs, into, own) : await copyEntries(request.contextDir, [rel], into, own, ignore)));
    }
  }
  return entries;
}

export async function readDockerfile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`Dockerfile ${path} not found`);
    throw e;
  }
}
