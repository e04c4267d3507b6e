/**
 * `manifold manifest create / annotate / push / inspect / rm`: docker's manifest verbs without a
 * daemon. Lists are assembled locally (see client/manifest-lists.ts) and pushed as one index.
 */
import type { Command } from 'commander';
import { copyImage } from '../client/copy.js';
import {
  buildIndex,
  deleteList,
  duplicatePlatforms,
  entriesFor,
  listFormat,
  loadList,
  saveList,
  type ListEntry,
  type LocalList,
} from '../client/manifest-lists.js';
import type { Clients } from '../client/transports.js';
import { RemoteSink, RemoteSource } from '../client/remote.js';
import { parseManifest } from '../oci/manifest.js';
import { normalizePlatform, type Platform } from '../oci/platform.js';
import { formatReference, manifestReference, parseReference, type ImageReference } from '../oci/reference.js';
import { addConnectionOptions, clientsFrom, type ConnectionFlags } from './common.js';
import { progressView } from './progress.js';

/** Lists are keyed by their canonical reference, so `host/app:multi` and `docker://host/app:multi` agree. */
function listRef(text: string): ImageReference {
  const ref = parseReference(text.replace(/^docker:\/\//, ''));
  if (ref.digest) throw new Error(`a manifest list is named by tag, not digest: ${text}`);
  return ref;
}

async function requireList(text: string): Promise<LocalList> {
  const ref = formatReference(listRef(text));
  const list = await loadList(ref);
  if (!list) throw new Error(`no local manifest list ${ref}: create it with \`manifold manifest create ${text} IMAGE…\``);
  return list;
}

function checkDuplicates(entries: ListEntry[], force: boolean | undefined): void {
  const dups = duplicatePlatforms(entries);
  if (dups.length && !force) {
    throw new Error(`more than one image for ${dups.join(', ')}: a client could not tell them apart (--force keeps them anyway)`);
  }
}

/** The entry of a local list that `image` names: the reference given to create, or a digest. */
function findEntry(list: LocalList, image: string): ListEntry {
  let wanted: string | undefined;
  try {
    wanted = formatReference(parseReference(image.replace(/^docker:\/\//, '')));
  } catch {
    wanted = undefined;
  }
  const matches = list.entries.filter((e) => e.digest === image || e.source === wanted || formatReference({ registry: e.registry, repository: e.repository, digest: e.digest }) === wanted);
  if (matches.length === 0) throw new Error(`${image} is not in the manifest list ${list.ref}`);
  if (matches.length > 1) throw new Error(`${image} names ${matches.length} entries of ${list.ref} (an index): name each by its digest`);
  return matches[0]!;
}

interface PushFlags extends ConnectionFlags {
  purge?: boolean;
  quiet?: boolean;
}

/**
 * Puts every entry into the list's repository (mounting within a registry, copying across
 * registries), then the list itself under its tag.
 */
async function pushList(list: LocalList, clients: Clients, flags: PushFlags): Promise<string> {
  const target = parseReference(list.ref);
  const client = clients.for(target.registry);
  const sink = new RemoteSink(client, { ...target, tag: undefined });
  const view = progressView({ quiet: flags.quiet });
  try {
    for (const e of list.entries) {
      if (e.registry === target.registry && e.repository === target.repository) continue;
      const source = new RemoteSource(clients.for(e.registry), { registry: e.registry, repository: e.repository, digest: e.digest });
      await copyImage(source, sink, { platforms: { mode: 'all' }, tag: '', onEvent: (ev) => view.onEvent(ev) });
    }
  } finally {
    view.finish();
  }
  const index = buildIndex(list);
  const digest = await client.putManifest(target.repository, target.tag ?? 'latest', index);
  if (flags.purge) await deleteList(list.ref);
  return digest;
}

export function registerManifest(program: Command): void {
  const manifest =
    program.commands.find((c) => c.name() === 'manifest') ??
    program.command('manifest').description('Create, annotate, push and inspect multi-platform manifest lists (no daemon needed)');

  addConnectionOptions(
    manifest
      .command('create')
      .description('Create a local manifest list from images (an index contributes all its platforms)')
      .argument('<list>', 'the list to create: HOST/REPO:TAG')
      .argument('<images...>', 'images (or indexes) to include: HOST/REPO:TAG or HOST/REPO@DIGEST')
      .option('-a, --amend', 'add to an existing local list')
      .option('--format <format>', 'docker (manifest list) or oci (image index); default: oci when any image is OCI, else docker')
      .option('--force', 'allow two images with the same platform')
      .option('--include-attestations', 'keep unknown/unknown attestation entries of indexes')
      .option('--push', 'push the list right away (and forget it locally)')
      .option('-q, --quiet', 'no progress output'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  manifold manifest create 127.0.0.1:5000/app:multi 127.0.0.1:5000/app:amd64 127.0.0.1:5000/app:arm64',
    )
    .action(async (text: string, images: string[], flags: PushFlags & { amend?: boolean; format?: string; force?: boolean; includeAttestations?: boolean; push?: boolean }) => {
      if (flags.format && flags.format !== 'docker' && flags.format !== 'oci') throw new Error('--format is docker or oci');
      const ref = formatReference(listRef(text));
      const existing = await loadList(ref);
      if (existing && !flags.amend) throw new Error(`local manifest list ${ref} already exists: add --amend to extend it, or remove it with \`manifold manifest rm ${ref}\``);
      const clients = clientsFrom(flags);
      const list: LocalList = existing ?? { ref, entries: [] };
      if (flags.format) list.format = flags.format as 'docker' | 'oci';
      for (const image of images) {
        const imageRef = parseReference(image.replace(/^docker:\/\//, ''));
        for (const entry of await entriesFor(clients.for(imageRef.registry), imageRef, Boolean(flags.includeAttestations))) {
          // Amending with an image already listed replaces its entry, as docker does.
          list.entries = list.entries.filter((e) => e.digest !== entry.digest);
          list.entries.push(entry);
        }
      }
      checkDuplicates(list.entries, flags.force);
      if (listFormat(list) === 'docker' && list.entries.some((e) => e.mediaType.startsWith('application/vnd.oci.'))) {
        throw new Error('a Docker manifest list cannot hold OCI manifests: use --format oci');
      }
      await saveList(list);
      if (flags.push) {
        process.stdout.write(`${await pushList(list, clients, { ...flags, purge: true })}\n`);
      } else {
        process.stdout.write(`Created manifest list ${ref}\n`);
      }
    });

  manifest
    .command('annotate')
    .description("Set an entry's platform in a local manifest list")
    .argument('<list>', 'the local list: HOST/REPO:TAG')
    .argument('<image>', 'the entry: the image reference given to create, or its digest')
    .option('--os <os>', 'operating system')
    .option('--arch <arch>', 'architecture')
    .option('--variant <variant>', 'architecture variant (v8, v7, …)')
    .option('--os-version <version>', 'OS version (Windows build, e.g. 10.0.17763.1879)')
    .option('--os-features <features>', 'comma-separated OS features')
    .addHelpText('after', '\nExample:\n  manifold manifest annotate 127.0.0.1:5000/app:multi 127.0.0.1:5000/app:arm64 --variant v8')
    .action(async (text: string, image: string, flags: { os?: string; arch?: string; variant?: string; osVersion?: string; osFeatures?: string }) => {
      const list = await requireList(text);
      const e = findEntry(list, image);
      const p: Platform = { ...e.platform };
      if (flags.os) p.os = flags.os;
      if (flags.arch) p.architecture = flags.arch;
      if (flags.variant !== undefined) p.variant = flags.variant || undefined;
      if (flags.osVersion !== undefined) p.osVersion = flags.osVersion || undefined;
      if (flags.osFeatures !== undefined) p.osFeatures = flags.osFeatures ? flags.osFeatures.split(',').map((s) => s.trim()) : undefined;
      // Normalise names (x86_64 → amd64) but keep an explicit variant such as arm64/v8 as written.
      const n = normalizePlatform(p);
      e.platform = { ...n, ...(p.variant ? { variant: p.variant } : {}) };
      if (!e.platform.variant) delete e.platform.variant;
      await saveList(list);
    });

  addConnectionOptions(
    manifest
      .command('push')
      .description('Push a local manifest list; entries from other repositories or registries are copied into its repository first')
      .argument('<list>', 'the local list: HOST/REPO:TAG')
      .option('-p, --purge', 'forget the local list after a successful push')
      .option('-q, --quiet', 'no progress output'),
  )
    .addHelpText('after', '\nExample:\n  manifold manifest push --purge 127.0.0.1:5000/app:multi')
    .action(async (text: string, flags: PushFlags) => {
      const list = await requireList(text);
      checkDuplicates(list.entries, true);
      process.stdout.write(`${await pushList(list, clientsFrom(flags), flags)}\n`);
    });

  addConnectionOptions(
    manifest
      .command('inspect')
      .description('Show a manifest or manifest list: a local list if there is one by that name, else the registry\'s')
      .argument('<reference>', 'HOST/REPO:TAG or HOST/REPO@DIGEST')
      .argument('[entry]', "docker's two-argument form: show this entry of the local list named first")
      .option('-v, --verbose', 'for a list, also each entry\'s own manifest (docker\'s -v shape)')
      .option('--raw', 'the exact bytes the registry serves'),
  )
    .addHelpText('after', '\nExamples:\n  manifold manifest inspect 127.0.0.1:5000/app:multi\n  manifold manifest inspect 127.0.0.1:5000/app:multi 127.0.0.1:5000/app:arm64\n  manifold manifest inspect --raw 127.0.0.1:5000/app:multi | sha256sum')
    .action(async (text: string, entryText: string | undefined, flags: ConnectionFlags & { verbose?: boolean; raw?: boolean }) => {
      const clients = clientsFrom(flags);
      let ref = parseReference(text.replace(/^docker:\/\//, ''));
      let local = ref.digest ? undefined : await loadList(formatReference(ref));
      if (entryText !== undefined) {
        // docker manifest inspect LIST IMAGE: the image as the local list LIST records it.
        const e = findEntry(await requireList(text), entryText);
        ref = { registry: e.registry, repository: e.repository, digest: e.digest };
        local = undefined;
      }
      const data = local ? buildIndex(local) : await clients.for(ref.registry).getManifest(ref.repository, manifestReference(ref));
      if (flags.raw) {
        process.stdout.write(data.bytes);
        return;
      }
      const doc = JSON.parse(data.bytes.toString('utf8')) as { manifests?: { digest: string; mediaType: string; size: number; platform?: unknown }[] };
      if (!flags.verbose) {
        process.stdout.write(`${JSON.stringify(doc, null, 3)}\n`);
        return;
      }
      // docker's verbose shape: Ref, Descriptor (with platform), Raw (base64), and the parsed manifest.
      const describe = (r: ImageReference, bytes: Buffer, mediaType: string, digest: string, platform: unknown) => {
        const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
        const key = mediaType.startsWith('application/vnd.oci.') ? 'OCIManifest' : 'SchemaV2Manifest';
        return { Ref: formatReference(r), Descriptor: { mediaType, digest, size: bytes.length, ...(platform ? { platform } : {}) }, Raw: bytes.toString('base64'), [key]: parsed };
      };
      const parsed = parseManifest(data.bytes, data.mediaType);
      if (parsed.kind === 'image') {
        process.stdout.write(`${JSON.stringify(describe(ref, data.bytes, data.mediaType, data.digest, undefined), null, 3)}\n`);
        return;
      }
      const out = [];
      for (const d of doc.manifests ?? []) {
        const entry = local?.entries.find((e) => e.digest === d.digest);
        const where: ImageReference = entry ? { registry: entry.registry, repository: entry.repository, digest: d.digest } : { ...ref, tag: undefined, digest: d.digest };
        const child = await clients.for(where.registry).getManifest(where.repository, d.digest);
        out.push(describe(where, child.bytes, child.mediaType, child.digest, d.platform));
      }
      process.stdout.write(`${JSON.stringify(out, null, 3)}\n`);
    });

  manifest
    .command('rm')
    .description('Delete local manifest lists (not the registry\'s copy)')
    .argument('<lists...>', 'local lists: HOST/REPO:TAG')
    .addHelpText('after', '\nExample:\n  manifold manifest rm 127.0.0.1:5000/app:multi')
    .action(async (lists: string[]) => {
      const missing: string[] = [];
      for (const text of lists) {
        const ref = formatReference(listRef(text));
        if (!(await deleteList(ref))) missing.push(ref);
      }
      if (missing.length) throw new Error(`no local manifest list ${missing.join(', ')}`);
    });
}
