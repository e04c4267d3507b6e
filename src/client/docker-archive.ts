/**
 * `docker save` archives (`docker-archive:FILE[:REPO:TAG]`) as a source and a sink. An archive holds
 * one image per `manifest.json` entry: a config file and uncompressed layer tarballs. Read, the
 * layers are gzip-compressed for the registry (the config's diff_ids stay valid: they name the
 * uncompressed bytes); written, they are stored uncompressed under their diff_id, as docker does.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, posix } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { digestOf, newHasher, parseDigest } from '../oci/digest.js';
import { IMAGE_CONFIG_TYPES, MediaType } from '../oci/mediatypes.js';
import { parseManifest } from '../oci/manifest.js';
import type { BlobDescriptor, ImageSink, ImageSource, ManifestData, RegistryLocation } from './image.js';
import { counted } from './registry-client.js';

interface ArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

async function startsWith(path: string, magic: number[]): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(magic.length);
    const { bytesRead } = await fh.read(buf, 0, magic.length, 0);
    return bytesRead === magic.length && magic.every((b, i) => buf[i] === b);
  } finally {
    await fh.close();
  }
}

/** Streams `input` through `transforms` into `out`, returning the sha256 and size of what was written. */
async function writeHashed(input: Readable, out: string, ...transforms: Transform[]): Promise<{ digest: string; size: number }> {
  const hasher = newHasher('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hasher.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // pipeline's typings take no spread of stages; the stages are all plain node streams.
  await (pipeline as unknown as (...streams: NodeJS.ReadWriteStream[]) => Promise<void>)(
    ...([input, ...transforms, hashing, createWriteStream(out)] as unknown as NodeJS.ReadWriteStream[]),
  );
  return { digest: `sha256:${hasher.digest('hex')}`, size };
}

/** A tar entry name made safe to use under a directory (no absolute paths, no `..`). */
function safeName(name: string): string | undefined {
  const n = posix.normalize(name.replace(/^\.\/+/, ''));
  if (n.startsWith('/') || n === '..' || n.startsWith('../') || n === '.' || n === '') return undefined;
  return n;
}

export class DockerArchiveSource implements ImageSource {
  readonly name: string;
  readonly location?: RegistryLocation = undefined;
  private prepared: Promise<ManifestData> | undefined;
  private work: string | undefined;
  /** Where each blob of the synthesised image lives on disk. */
  private readonly files = new Map<string, string>();

  constructor(
    readonly file: string,
    /** Which image of a multi-image archive (`repo:tag` as in RepoTags, or `@N`). */
    readonly select?: string,
  ) {
    this.name = `docker-archive:${file}${select ? `:${select}` : ''}`;
  }

  /** Extracts the archive (gzip'd or not) into a temp dir: tar entries can only be read in order. */
  private async extractAll(): Promise<{ dir: string; links: Map<string, string> }> {
    const dir = await mkdtemp(join(tmpdir(), 'manifold-archive-'));
    this.work = dir;
    const links = new Map<string, string>();
    const gz = await startsWith(this.file, GZIP_MAGIC);
    const ex = extract();
    const input = createReadStream(this.file);
    const feeding = gz ? pipeline(input, createGunzip(), ex) : pipeline(input, ex);
    for await (const entry of ex) {
      const name = safeName(entry.header.name);
      if (name && entry.header.type === 'file') {
        const target = join(dir, 'x', name);
        await mkdir(dirname(target), { recursive: true });
        await pipeline(entry, createWriteStream(target));
        continue;
      }
      // Older docker saves repeat a shared layer as a symlink to the first copy.
      if (name && entry.header.type === 'symlink' && entry.header.linkname) {
        const to = safeName(posix.join(posix.dirname(name), entry.header.linkname));
        if (to) links.set(name, to);
      }
      entry.resume();
    }
    await feeding;
    return { dir: join(dir, 'x'), links };
  }

  private load(): Promise<ManifestData> {
    this.prepared ??= (async () => {
      const { dir, links } = await this.extractAll();
      const resolve = (p: string) => {
        let n = safeName(p);
        for (let hops = 0; n && links.has(n) && hops < 16; hops++) n = links.get(n);
        if (!n) throw new Error(`${this.name}: bad path ${p} in manifest.json`);
        return join(dir, normalize(n));
      };
      let entries: ArchiveEntry[];
      try {
        entries = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ArchiveEntry[];
      } catch {
        throw new Error(`${this.file} is not a docker archive (no readable manifest.json)`);
      }
      const entry = this.pick(entries);
      const configBytes = await readFile(resolve(entry.Config));
      const config = { mediaType: MediaType.DockerConfig, digest: digestOf(configBytes), size: configBytes.length };
      this.files.set(config.digest, resolve(entry.Config));
      const layers = [];
      for (const [i, layerPath] of entry.Layers.entries()) {
        const path = resolve(layerPath);
        if (await startsWith(path, ZSTD_MAGIC)) throw new Error(`${this.name}: zstd-compressed layers are not supported`);
        let desc: { digest: string; size: number };
        let file = path;
        if (await startsWith(path, GZIP_MAGIC)) {
          const hasher = newHasher('sha256');
          for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer);
          desc = { digest: `sha256:${hasher.digest('hex')}`, size: (await stat(path)).size };
        } else {
          file = join(this.work!, `layer-${i}.tar.gz`);
          desc = await writeHashed(createReadStream(path), file, createGzip());
        }
        this.files.set(desc.digest, file);
        layers.push({ mediaType: MediaType.DockerLayer, ...desc });
      }
      const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config, layers }, null, 3));
      return { bytes, mediaType: MediaType.DockerManifest, digest: digestOf(bytes) };
    })();
    return this.prepared;
  }

  private pick(entries: ArchiveEntry[]): ArchiveEntry {
    if (!Array.isArray(entries) || entries.length === 0) throw new Error(`${this.name}: manifest.json lists no images`);
    if (!this.select) {
      if (entries.length === 1) return entries[0]!;
      throw new Error(`${this.file} holds ${entries.length} images: name one as docker-archive:${this.file}:REPO:TAG or :@N`);
    }
    const n = /^@(\d+)$/.exec(this.select);
    const found = n ? entries[Number(n[1])] : entries.find((e) => e.RepoTags?.some((t) => t === this.select || t.endsWith(`/${this.select}`)));
    if (!found) {
      const tags = entries.flatMap((e) => e.RepoTags ?? []);
      throw new Error(`${this.file} has no image ${this.select} (it has: ${tags.join(', ') || 'untagged images only'})`);
    }
    return found;
  }

  root(): Promise<ManifestData> {
    return this.load();
  }

  async manifest(digest: string): Promise<ManifestData> {
    const root = await this.load();
    if (root.digest !== digest) throw new Error(`${this.name} has no manifest ${digest}`);
    return root;
  }

  async openBlob(desc: BlobDescriptor, offset: number): Promise<Readable> {
    await this.load();
    const file = this.files.get(desc.digest);
    if (!file) throw new Error(`${this.name} has no blob ${desc.digest}`);
    return createReadStream(file, { start: offset });
  }

  async close(): Promise<void> {
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }
}

/**
 * Writes one image as a `docker save` archive. Entries are written one at a time (a tar is
 * sequential); layers are decompressed to a temp file first because a tar header needs the size.
 */
export class DockerArchiveSink implements ImageSink {
  readonly name: string;
  readonly acceptsIndex = false;
  readonly location?: RegistryLocation = undefined;
  private readonly tar = pack();
  private readonly tmpFile: string;
  private readonly finished: Promise<void>;
  private queue: Promise<void> = Promise.resolve();
  private readonly names = new Map<string, string>();
  private work: string | undefined;
  private rootManifest: ManifestData | undefined;

  constructor(
    readonly file: string,
    /** `repo:tag` recorded in RepoTags, so `docker load` tags the image. */
    readonly repoTag?: string,
  ) {
    this.name = `docker-archive:${file}`;
    this.tmpFile = `${file}.${process.pid}.tmp`;
    this.finished = pipeline(this.tar, createWriteStream(this.tmpFile));
    this.finished.catch(() => undefined);
  }

  private enqueue(name: string, size: number, body: () => Readable): Promise<void> {
    const step = this.queue.then(
      () =>
        new Promise<void>((resolve, reject) => {
          const sink = this.tar.entry({ name, size, mtime: new Date(0), mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
          pipeline(body(), sink as unknown as Writable).catch(reject);
        }),
    );
    this.queue = step.catch(() => undefined);
    return step;
  }

  async hasBlob(): Promise<boolean> {
    return false;
  }

  async mountBlob(): Promise<boolean> {
    return false;
  }

  async putBlob(desc: BlobDescriptor, openAt: (offset: number) => Promise<AsyncIterable<Uint8Array>>, onBytes: (n: number) => void): Promise<void> {
    if (IMAGE_CONFIG_TYPES.has(desc.mediaType)) {
      const chunks: Buffer[] = [];
      for await (const c of counted(await openAt(0), onBytes)) chunks.push(Buffer.from(c));
      const bytes = Buffer.concat(chunks);
      if (digestOf(bytes, parseDigest(desc.digest).algorithm) !== desc.digest) throw new Error(`config ${desc.digest} arrived corrupt`);
      const name = `${parseDigest(desc.digest).hex}.json`;
      this.names.set(desc.digest, name);
      return this.enqueue(name, bytes.length, () => Readable.from([bytes]));
    }
    // A layer: verify the digest of what arrived, and store it uncompressed under its diff_id.
    this.work ??= await mkdtemp(join(tmpdir(), 'manifold-save-'));
    const compressed = desc.mediaType.endsWith('gzip') || desc.mediaType === MediaType.DockerLayer;
    const out = join(this.work, parseDigest(desc.digest).hex);
    const arrived = newHasher(parseDigest(desc.digest).algorithm);
    const verify = async function* (src: AsyncIterable<Uint8Array>) {
      for await (const c of src) {
        arrived.update(c);
        yield c;
      }
    };
    const written = await writeHashed(Readable.from(verify(counted(await openAt(0), onBytes))), out, ...(compressed ? [createGunzip()] : [])).catch((e: Error) => {
      throw new Error(`layer ${desc.digest} (${desc.mediaType}) cannot be unpacked for the archive: ${e.message}`);
    });
    if (`${parseDigest(desc.digest).algorithm}:${arrived.digest('hex')}` !== desc.digest) throw new Error(`layer ${desc.digest} arrived corrupt`);
    const name = `${parseDigest(written.digest).hex}.tar`;
    this.names.set(desc.digest, name);
    await this.enqueue(name, written.size, () => createReadStream(out));
    await rm(out, { force: true });
  }

  async hasManifest(): Promise<boolean> {
    return false;
  }

  async putManifest(m: ManifestData, tag?: string): Promise<string> {
    if (tag === undefined) return m.digest;
    const parsed = parseManifest(m.bytes, m.mediaType);
    if (parsed.kind === 'index') throw new Error('a docker archive holds a single image: choose one platform with --platform');
    this.rootManifest = m;
    return m.digest;
  }

  async close(): Promise<void> {
    try {
      if (!this.rootManifest) throw new Error(`${this.name}: nothing was written`);
      const parsed = parseManifest(this.rootManifest.bytes, this.rootManifest.mediaType);
      const nameOf = (d: string) => {
        const n = this.names.get(d);
        if (!n) throw new Error(`${this.name}: blob ${d} was not written`);
        return n;
      };
      const manifest = [{ Config: nameOf(parsed.config!.digest), RepoTags: this.repoTag ? [this.repoTag] : null, Layers: parsed.layers.map((l) => nameOf(l.digest)) }];
      const bytes = Buffer.from(JSON.stringify(manifest));
      await this.enqueue('manifest.json', bytes.length, () => Readable.from([bytes]));
      this.tar.finalize();
      await this.finished;
      await rename(this.tmpFile, this.file);
    } finally {
      await this.abort();
    }
  }

  async abort(): Promise<void> {
    if (!this.tar.destroyed) this.tar.destroy();
    await rm(this.tmpFile, { force: true });
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }
}
