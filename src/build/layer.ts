/**
 * COPY/ADD layers for the builtin builder: resolves sources in the build context the way docker
 * does (globs, directories copied by content, `dest/` meaning a directory, paths relative to
 * WORKDIR, nothing outside the context), then streams a gzip'd tar into an OCI layout, hashing
 * both the tar (the diff_id) and the gzip (the blob digest) on the way. Nothing is held in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, posix, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gunzipSync } from 'node:zlib';
import { extract, pack, type Header } from 'tar-stream';
import { newHasher } from '../oci/digest.js';

export interface LayerEntry {
  /** Path inside the image, without a leading slash. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: Date;
  uid: number;
  gid: number;
  /** File on disk to take the content from. */
  source?: string;
  /** Or the content itself (small downloads). */
  data?: Buffer;
  linkname?: string;
  size?: number;
}

export interface Ownership {
  uid: number;
  gid: number;
  /** --chmod: mode for every file and directory copied. */
  mode?: number;
}

/** `*`, `?` and `[…]` within one path segment, as Go's filepath.Match. */
function segmentRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Paths under `contextDir` matching `pattern` (relative to the context). */
export async function expandSource(contextDir: string, pattern: string): Promise<string[]> {
  const clean = posix.normalize(`/${pattern}`).slice(1);
  if (clean.startsWith('..')) throw new Error(`${pattern} is outside the build context`);
  const parts = clean === '' ? [] : clean.split('/');
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    const wild = /[*?[]/.test(part);
    for (const base of current) {
      if (!wild) {
        next.push(base ? `${base}/${part}` : part);
        continue;
      }
      const re = segmentRegex(part);
      const names = await readdir(join(contextDir, base)).catch(() => [] as string[]);
      for (const n of names.sort()) if (re.test(n)) next.push(base ? `${base}/${n}` : n);
    }
    current = next;
  }
  const found: string[] = [];
  for (const p of current) {
    const abs = resolve(contextDir, p);
    if (abs !== resolve(contextDir) && !abs.startsWith(resolve(contextDir) + sep)) throw new Error(`${pattern} is outside the build context`);
    if (await lstat(abs).then(() => true, () => false)) found.push(abs);
  }
  if (found.length === 0) throw new Error(`${pattern}: no such file or directory in the build context`);
  return found;
}

async function walk(abs: string, into: string, own: Ownership, out: LayerEntry[], ignore: (abs: string) => boolean): Promise<void> {
  if (ignore(abs)) return;
  const st = await lstat(abs);
  const base = { mtime: st.mtime, uid: own.uid, gid: own.gid };
  if (st.isDirectory()) {
    if (into) out.push({ ...base, path: into, type: 'directory', mode: own.mode ?? st.mode & 0o7777 });
    for (const name of (await readdir(abs)).sort()) await walk(join(abs, name), into ? `${into}/${name}` : name, own, out, ignore);
  } else if (st.isSymbolicLink()) {
    out.push({ ...base, path: into, type: 'symlink', mode: 0o777, linkname: await readlink(abs) });
  } else if (st.isFile()) {
    out.push({ ...base, path: into, type: 'file', mode: own.mode ?? st.mode & 0o7777, source: abs, size: st.size });
  }
}

/** Directory entries for every parent of `path` (docker creates them 0755, root-owned). */
function parents(path: string, mtime: Date): LayerEntry[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => ({ path: parts.slice(0, i + 1).join('/'), type: 'directory' as const, mode: 0o755, mtime, uid: 0, gid: 0 }));
}

/**
 * The entries `COPY srcs… dest` makes. `dest` is absolute here (WORKDIR already applied); it is a
 * directory when it ends with `/` or when there are several sources.
 */
export async function copyEntries(contextDir: string, sources: string[], dest: string, own: Ownership, ignore: (abs: string) => boolean): Promise<LayerEntry[]> {
  const files = (await Promise.all(sources.map((s) => expandSource(contextDir, s)))).flat();
  const destIsDir = dest.endsWith('/') || files.length > 1;
  const target = posix.normalize(dest).replace(/^\/+/, '').replace(/\/+$/, '');
  const out: LayerEntry[] = [];
  for (const abs of files) {
    const st = await lstat(abs);
    const into = st.isDirectory() ? target : destIsDir ? posix.join(target, abs.split(sep).pop()!) : target;
    await walk(abs, into, own, out, ignore);
  }
  return [...parents(`${target}/x`, new Date(0)), ...out];
}

/** The entries of a local tar archive (ADD extracts them), re-rooted under `dest`. */
export async function tarEntries(file: string, dest: string, own: Ownership): Promise<LayerEntry[]> {
  const target = posix.normalize(dest).replace(/^\/+/, '').replace(/\/+$/, '');
  const bytes = await readFile(file);
  const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const ex = extract();
  const out: LayerEntry[] = [];
  ex.on('entry', (h: Header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const name = posix.normalize(h.name).replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
      if (name && name !== '.' && !name.startsWith('..')) {
        const path = target ? `${target}/${name}` : name;
        const base = { path, mode: h.mode ?? 0o644, mtime: h.mtime ?? new Date(0), uid: own.uid || (h.uid ?? 0), gid: own.gid || (h.gid ?? 0) };
        if (h.type === 'directory') out.push({ ...base, type: 'directory' });
        else if (h.type === 'symlink') out.push({ ...base, type: 'symlink', linkname: h.linkname ?? '' });
        else if (h.type === 'file') out.push({ ...base, type: 'file', data: Buffer.concat(chunks) });
      }
      next();
    });
    stream.resume();
  });
  const done = new Promise<void>((res, rej) => {
    ex.on('finish', res);
    ex.on('error', rej);
  });
  const input = gz ? createGunzip() : undefined;
  if (input) {
    input.pipe(ex);
    input.end(bytes);
  } else ex.end(bytes);
  await done;
  return [...parents(`${target}/x`, new Date(0)), ...out];
}

/** True when `file` is a tar archive (plain or gzip'd), which docker's ADD unpacks. */
export async function isLocalTar(file: string): Promise<boolean> {
  const st = await lstat(file);
  if (!st.isFile() || st.size < 512) return false;
  let bytes = await readFile(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      return false;
    }
  }
  return bytes.subarray(257, 262).toString('latin1') === 'ustar';
}

function hashing(hasher: ReturnType<typeof newHasher>, count: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hasher.update(chunk);
      count.n += chunk.length;
      cb(null, chunk);
    },
  });
}

export interface WrittenLayer {
  digest: string;
  size: number;
  diffId: string;
}

/** Writes the entries as a gzip'd tar blob into an OCI layout's blobs directory. */
export async function writeLayer(layoutDir: string, entries: LayerEntry[]): Promise<WrittenLayer> {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const tmp = join(blobs, `.layer-${randomBytes(6).toString('hex')}`);
  const p = pack();
  const tarHash = newHasher();
  const gzHash = newHasher();
  const gzSize = { n: 0 };
  const written = pipeline(p, hashing(tarHash, { n: 0 }), createGzip(), hashing(gzHash, gzSize), createWriteStream(tmp));
  const seen = new Set<string>();
  try {
    for (const e of entries) {
      // A path given twice (parents of two COPY sources) keeps its first header, as tar readers would see the last anyway.
      if (e.type === 'directory' && seen.has(e.path)) continue;
      seen.add(e.path);
      const header: Partial<Header> & { name: string } = { name: e.type === 'directory' ? `${e.path}/` : e.path, mode: e.mode, mtime: e.mtime, uid: e.uid, gid: e.gid, type: e.type };
      if (e.type === 'symlink') header.linkname = e.linkname;
      if (e.type !== 'file') {
        p.entry(header);
        continue;
      }
      const data = e.data;
      header.size = data ? data.length : e.size;
      await new Promise<void>((res, rej) => {
        const sink = p.entry(header, (err) => (err ? rej(err) : res()));
        if (data) sink.end(data);
        else createReadStream(e.source!).on('error', rej).pipe(sink);
      });
    }
    p.finalize();
    await written;
    const digest = `sha256:${gzHash.digest('hex')}`;
    await rename(tmp, join(blobs, digest.slice(7)));
    return { digest, size: gzSize.n, diffId: `sha256:${tarHash.digest('hex')}` };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** A `.dockerignore` as a predicate over absolute paths in the context (`*`, `**`, `!` exceptions). */
export async function dockerignore(contextDir: string): Promise<(abs: string) => boolean> {
  const text = await readFile(join(contextDir, '.dockerignore'), 'utf8').catch(() => '');
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = posix.normalize(negate ? l.slice(1).trim() : l).replace(/^\/+/, '');
      const re = pat
        .split('/')
        .map((seg) => (seg === '**' ? '.*' : segmentRegex(seg).source.slice(1, -1)))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  if (rules.length === 0) return () => false;
  return (abs) => {
    const rel = relative(contextDir, abs).split(sep).join('/');
    let ignored = false;
    for (const r of rules) if (r.re.test(rel)) ignored = !r.negate;
    return ignored;
  };
}
