import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { parseReference, type ImageReference } from '../oci/reference.js';
import { acrList, acrRequest, type RegistryEndpoint } from './acr-client.js';

/**
 * `manifold repository …` and `manifold manifest list-metadata | show-metadata | update-metadata |
 * delete`: the metadata API (`/acr/v1`) from the command line, as `az acr repository` and
 * `az acr manifest` offer it. JSON on stdout by default (for jq), `--output table` for people.
 */

interface Attributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

interface ManifestAttributes {
  digest: string;
  imageSize: number;
  createdTime: string;
  lastUpdateTime: string;
  architecture?: string;
  os?: string;
  variant?: string;
  mediaType: string;
  tags: string[];
  references?: { digest: string; architecture?: string; os?: string; variant?: string }[];
  changeableAttributes: Attributes;
}

interface TagAttributes {
  name: string;
  digest: string;
  createdTime: string;
  lastUpdateTime: string;
  signed: boolean;
  changeableAttributes: Attributes;
}

interface CommonOptions {
  registry: string;
  plainHttp?: boolean;
  output: 'json' | 'table';
}

const DEFAULT_REGISTRY = '127.0.0.1:5000';

/** The options every metadata command takes. */
function common(cmd: Command): Command {
  return cmd
    .option('--registry <host[:port]>', `registry for names without a host (env MANIFOLD_REGISTRY, default ${DEFAULT_REGISTRY})`, process.env.MANIFOLD_REGISTRY ?? DEFAULT_REGISTRY)
    .option('--plain-http', 'use http:// for a registry that is not on loopback')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default('json'));
}

function endpoint(opts: CommonOptions, ref?: ImageReference): RegistryEndpoint {
  return { host: ref?.registry ?? opts.registry, plainHttp: opts.plainHttp === true };
}

type RefKind = 'repository' | 'image' | 'any';

/** REPO, REPO:TAG or REPO@DIGEST, optionally with the registry in front (`127.0.0.1:5000/app:1.0`). */
function parseTarget(text: string, opts: CommonOptions, kind: RefKind): ImageReference {
  const ref = parseReference(text, { defaultRegistry: opts.registry, defaultTag: null });
  if (kind === 'repository' && (ref.tag || ref.digest)) throw new Error(`expected a repository, got ${JSON.stringify(text)} (drop the :tag or @digest)`);
  if (kind === 'image' && !ref.tag && !ref.digest) throw new Error(`expected REPO:TAG or REPO@DIGEST, got ${JSON.stringify(text)}`);
  return ref;
}

function positiveInt(v: string): number {
  if (!/^[1-9]\d*$/.test(v)) throw new Error(`expected a positive whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function boolArg(v: string): boolean {
  if (/^(true|yes|1)$/i.test(v)) return true;
  if (/^(false|no|0)$/i.test(v)) return false;
  throw new Error(`expected true or false, got ${JSON.stringify(v)}`);
}

const seg = encodeURIComponent;

/** Query for a listing: the order (`time_asc|time_desc`), and a page size no larger than `top`. */
function listQuery(opts: { orderby?: string; top?: number }): string {
  const q = new URLSearchParams();
  if (opts.orderby) q.set('orderby', opts.orderby);
  if (opts.top) q.set('n', String(Math.min(opts.top, 1000)));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---- output ---------------------------------------------------------------------------------

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}

function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const platformOf = (p: { os?: string; architecture?: string; variant?: string }) =>
  [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');

/** The attributes that are off, e.g. `write,delete`; `-` when nothing is locked. */
function disabled(a: Attributes): string {
  const off = (['write', 'delete', 'read', 'list'] as const).filter((k) => !a[`${k}Enabled`]);
  return off.length ? off.join(',') : '-';
}

/**
 * Rows for manifests: an image is one row; an index is a row for itself and then one row per
 * platform (each with its own image's size), attestations (`unknown/unknown`) marked as such.
 */
async function manifestRows(manifests: ManifestAttributes[], childOf: (digest: string) => Promise<ManifestAttributes | undefined>): Promise<string[][]> {
  const rows: string[][] = [];
  for (const m of manifests) {
    const tags = m.tags.join(',') || '-';
    if (!m.references) {
      rows.push([m.digest, tags, m.os ? platformOf(m) : '-', humanSize(m.imageSize), shortTime(m.lastUpdateTime), disabled(m.changeableAttributes)]);
      continue;
    }
    rows.push([m.digest, tags, `index (${m.references.filter((r) => r.os !== 'unknown').length} platforms)`, humanSize(m.imageSize), shortTime(m.lastUpdateTime), disabled(m.changeableAttributes)]);
    for (const r of m.references) {
      const child = await childOf(r.digest);
      const platform = r.os === 'unknown' && r.architecture === 'unknown' ? 'attestation' : platformOf(r);
      rows.push([`  └ ${r.digest}`, '', platform, child ? humanSize(child.imageSize) : '?', '', child ? disabled(child.changeableAttributes) : '']);
    }
  }
  return rows;
}

const MANIFEST_HEADERS = ['DIGEST', 'TAGS', 'PLATFORM', 'SIZE', 'UPDATED', 'DISABLED'];

async function printManifests(registry: RegistryEndpoint, repo: string, manifests: ManifestAttributes[], output: string): Promise<void> {
  if (output === 'json') return printJson(manifests);
  const known = new Map(manifests.map((m) => [m.digest, m]));
  const childOf = async (digest: string) => {
    if (!known.has(digest)) {
      const res = await acrRequest(registry, 'GET', `/acr/v1/${repo}/_manifests/${seg(digest)}`).catch(() => undefined);
      if (res) known.set(digest, (res.body as { manifest: ManifestAttributes }).manifest);
    }
    return known.get(digest);
  };
  printTable(MANIFEST_HEADERS, await manifestRows(manifests, childOf));
}

function printTags(tags: TagAttributes[], output: string): void {
  if (output === 'json') return printJson(tags);
  printTable(
    ['TAG', 'DIGEST', 'UPDATED', 'SIGNED', 'DISABLED'],
    tags.map((t) => [t.name, t.digest, shortTime(t.lastUpdateTime), t.signed ? 'yes' : 'no', disabled(t.changeableAttributes)]),
  );
}

function printAttributes(value: Record<string, unknown>, output: string): void {
  if (output === 'json') return printJson(value);
  const rows: string[][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (k === 'changeableAttributes') for (const [ak, av] of Object.entries(v as Attributes)) rows.push([ak, String(av)]);
    else if (Array.isArray(v)) rows.push([k, v.map((x) => (typeof x === 'object' ? `${(x as { digest: string }).digest} ${platformOf(x as object)}` : String(x))).join('\n')]);
    else rows.push([k, String(v)]);
  }
  // Multi-line values (references) continue under their key.
  printTable(['FIELD', 'VALUE'], rows.flatMap(([k, v]) => v!.split('\n').map((line, i) => [i === 0 ? k! : '', line])));
}

// ---- shared steps ---------------------------------------------------------------------------

/** The digest a reference names: its digest, or what its tag points at. */
async function resolveDigest(registry: RegistryEndpoint, ref: ImageReference): Promise<string> {
  if (ref.digest) return ref.digest;
  const res = await acrRequest(registry, 'GET', `/acr/v1/${ref.repository}/_tags/${seg(ref.tag!)}`);
  return (res.body as { tag: TagAttributes }).tag.digest;
}

async function manifestOf(registry: RegistryEndpoint, repo: string, digest: string): Promise<ManifestAttributes> {
  const res = await acrRequest(registry, 'GET', `/acr/v1/${repo}/_manifests/${seg(digest)}`);
  return (res.body as { manifest: ManifestAttributes }).manifest;
}

/** Deleting needs `--yes`, or a "y" typed at a terminal. */
async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new Error(`${question}: refusing without --yes (no terminal to ask)`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question}? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new Error('cancelled');
}

const ATTRIBUTE_FLAGS: [keyof Attributes, string][] = [
  ['deleteEnabled', '--delete-enabled <bool>'],
  ['writeEnabled', '--write-enabled <bool>'],
  ['readEnabled', '--read-enabled <bool>'],
  ['listEnabled', '--list-enabled <bool>'],
];

function withAttributeFlags(cmd: Command): Command {
  for (const [key, flag] of ATTRIBUTE_FLAGS) cmd.option(flag, `set ${key} (true|false)`, boolArg);
  return cmd;
}

function attributePatch(opts: Partial<Attributes>): Partial<Attributes> {
  const patch: Partial<Attributes> = {};
  for (const [key] of ATTRIBUTE_FLAGS) if (opts[key] !== undefined) patch[key] = opts[key];
  if (Object.keys(patch).length === 0) throw new Error(`nothing to change: give one of ${ATTRIBUTE_FLAGS.map(([, f]) => f.split(' ')[0]).join(', ')}`);
  return patch;
}

/** The attributes of what `ref` names (a manifest by digest, a tag, or a repository): GET, or PATCH with `patch`. */
async function attributesOf(registry: RegistryEndpoint, ref: ImageReference, patch?: Partial<Attributes>): Promise<Record<string, unknown>> {
  const path = ref.digest
    ? `/acr/v1/${ref.repository}/_manifests/${seg(ref.digest)}`
    : ref.tag
      ? `/acr/v1/${ref.repository}/_tags/${seg(ref.tag)}`
      : `/acr/v1/${ref.repository}`;
  const body = (await acrRequest(registry, patch ? 'PATCH' : 'GET', path, patch)).body as Record<string, unknown>;
  // A tag or manifest comes in Azure's envelope {registry, imageName, tag|manifest}; a repository flat.
  return (body.manifest ?? body.tag ?? body) as Record<string, unknown>;
}

/** The action of `manifest update-metadata` and `repository update`. */
function updateAction(kind: RefKind) {
  return async (arg: string, opts: CommonOptions & Partial<Attributes>) => {
    const ref = parseTarget(arg, opts, kind);
    printAttributes(await attributesOf(endpoint(opts, ref), ref, attributePatch(opts)), opts.output);
  };
}

/** The manifests of a repository, all pages up to `--top`, in `--orderby`. */
async function listManifests(registry: RegistryEndpoint, repo: string, opts: { orderby?: string; top?: number }): Promise<ManifestAttributes[]> {
  return acrList<ManifestAttributes>(registry, `/acr/v1/${repo}/_manifests${listQuery(opts)}`, 'manifests', opts.top);
}

// ---- commands -------------------------------------------------------------------------------

export function registerMetadataCommands(program: Command): void {
  const manifest = program.commands.find((c) => c.name() === 'manifest') ?? program.command('manifest').description('Work with manifests and image indexes');

  common(manifest.command('list-metadata').argument('<repo>', 'repository, e.g. app or 127.0.0.1:5000/app'))
    .description('List the manifests of a repository with their metadata (digest, tags, platforms, size, times, attributes)')
    .addOption(new Option('--orderby <order>', 'order by last update').choices(['time_asc', 'time_desc']))
    .option('--top <n>', 'at most this many manifests', positiveInt)
    .addHelpText('after', '\nExamples:\n  manifold manifest list-metadata app --orderby time_desc --top 10\n  manifold manifest list-metadata 127.0.0.1:5000/app -o table')
    .action(async (repoArg: string, opts: CommonOptions & { orderby?: string; top?: number }) => {
      const ref = parseTarget(repoArg, opts, 'repository');
      const registry = endpoint(opts, ref);
      const manifests = await listManifests(registry, ref.repository, opts);
      await printManifests(registry, ref.repository, manifests, opts.output);
    });

  common(manifest.command('show-metadata').argument('<ref>', 'REPO:TAG or REPO@DIGEST'))
    .description('Show the metadata of one manifest (an index: with its platforms)')
    .action(async (refArg: string, opts: CommonOptions) => {
      const ref = parseTarget(refArg, opts, 'image');
      const registry = endpoint(opts, ref);
      const m = await manifestOf(registry, ref.repository, await resolveDigest(registry, ref));
      // JSON of one manifest is the object itself; the table is list-metadata's, one manifest long.
      if (opts.output === 'json') printJson(m);
      else await printManifests(registry, ref.repository, [m], opts.output);
    });

  withAttributeFlags(common(manifest.command('update-metadata').argument('<ref>', 'REPO:TAG (the tag) or REPO@DIGEST (the manifest)')))
    .description('Change what may be done with a tag or manifest; --write-enabled false locks it against overwrite and delete')
    .addHelpText('after', '\nExamples:\n  manifold manifest update-metadata app:1.0 --write-enabled false\n  manifold manifest update-metadata app@sha256:… --delete-enabled false')
    .action(updateAction('image'));

  common(manifest.command('delete').argument('<ref>', 'REPO:TAG or REPO@DIGEST'))
    .description('Delete a manifest and every tag pointing at it (by tag: the manifest the tag points at)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (refArg: string, opts: CommonOptions & { yes?: boolean }) => {
      const ref = parseTarget(refArg, opts, 'image');
      const registry = endpoint(opts, ref);
      const digest = await resolveDigest(registry, ref);
      const m = await manifestOf(registry, ref.repository, digest);
      await confirm(`delete ${ref.repository}@${digest}${m.tags.length ? ` and its tags ${m.tags.join(', ')}` : ''}`, opts.yes);
      await acrRequest(registry, 'DELETE', `/v2/${ref.repository}/manifests/${seg(digest)}`);
      const result = { digest, tagsDeleted: m.tags };
      if (opts.output === 'json') printJson(result);
      else printTable(['DELETED', 'TAGS'], [[digest, m.tags.join(',') || '-']]);
    });

  const repository = program.command('repository').description('Work with repositories: list, show, tags, manifests, lock, delete');

  common(repository.command('list'))
    .description('List the repositories of the registry')
    .option('--top <n>', 'at most this many', positiveInt)
    .action(async (opts: CommonOptions & { top?: number }) => {
      const names = await acrList<string>(endpoint(opts), `/acr/v1/_catalog${listQuery(opts)}`, 'repositories', opts.top);
      if (opts.output === 'json') printJson(names);
      else printTable(['REPOSITORY'], names.map((n) => [n]));
    });

  common(repository.command('show').argument('<target>', 'REPO, REPO:TAG or REPO@DIGEST'))
    .description('Show the attributes of a repository, a tag or a manifest')
    .action(async (arg: string, opts: CommonOptions) => {
      const ref = parseTarget(arg, opts, 'any');
      printAttributes(await attributesOf(endpoint(opts, ref), ref), opts.output);
    });

  common(repository.command('show-tags').argument('<repo>', 'repository'))
    .description('List the tags of a repository (names; with --detail, digests, times and attributes)')
    .option('--detail', 'every attribute of each tag')
    .addOption(new Option('--orderby <order>', 'order by last update').choices(['time_asc', 'time_desc']))
    .option('--top <n>', 'at most this many', positiveInt)
    .action(async (repoArg: string, opts: CommonOptions & { detail?: boolean; orderby?: string; top?: number }) => {
      const ref = parseTarget(repoArg, opts, 'repository');
      const tags = await acrList<TagAttributes>(endpoint(opts, ref), `/acr/v1/${ref.repository}/_tags${listQuery(opts)}`, 'tags', opts.top);
      if (opts.detail) printTags(tags, opts.output);
      else if (opts.output === 'json') printJson(tags.map((t) => t.name));
      else printTable(['TAG'], tags.map((t) => [t.name]));
    });

  common(repository.command('show-manifests').argument('<repo>', 'repository'))
    .description('List the manifests of a repository (digest, tags, time; with --detail, everything list-metadata shows)')
    .option('--detail', 'every attribute of each manifest')
    .addOption(new Option('--orderby <order>', 'order by last update').choices(['time_asc', 'time_desc']))
    .option('--top <n>', 'at most this many', positiveInt)
    .action(async (repoArg: string, opts: CommonOptions & { detail?: boolean; orderby?: string; top?: number }) => {
      const ref = parseTarget(repoArg, opts, 'repository');
      const registry = endpoint(opts, ref);
      const manifests = await listManifests(registry, ref.repository, opts);
      if (opts.detail) return printManifests(registry, ref.repository, manifests, opts.output);
      const brief = manifests.map((m) => ({ digest: m.digest, tags: m.tags, timestamp: m.lastUpdateTime }));
      if (opts.output === 'json') printJson(brief);
      else printTable(['DIGEST', 'TAGS', 'UPDATED'], brief.map((m) => [m.digest, m.tags.join(',') || '-', shortTime(m.timestamp)]));
    });

  withAttributeFlags(common(repository.command('update').argument('<target>', 'REPO, REPO:TAG or REPO@DIGEST')))
    .description('Change what may be done with a repository, a tag or a manifest (lock: --write-enabled false)')
    .action(updateAction('any'));

  common(repository.command('delete').argument('<repo>', 'repository'))
    .description('Delete a repository with all its manifests and tags')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (repoArg: string, opts: CommonOptions & { yes?: boolean }) => {
      const ref = parseTarget(repoArg, opts, 'repository');
      await confirm(`delete repository ${ref.repository} with all its manifests and tags`, opts.yes);
      const body = (await acrRequest(endpoint(opts, ref), 'DELETE', `/acr/v1/${ref.repository}`)).body as { manifestsDeleted: string[]; tagsDeleted: string[] };
      if (opts.output === 'json') printJson(body);
      else printTable(['MANIFESTS DELETED', 'TAGS DELETED'], [[String(body.manifestsDeleted.length), String(body.tagsDeleted.length)]]);
    });

  common(repository.command('untag').argument('<image>', 'REPO:TAG'))
    .description('Remove a tag; the manifest stays')
    .action(async (arg: string, opts: CommonOptions) => {
      const ref = parseTarget(arg, opts, 'image');
      if (!ref.tag || ref.digest) throw new Error(`expected REPO:TAG, got ${JSON.stringify(arg)}`);
      const registry = endpoint(opts, ref);
      const digest = await resolveDigest(registry, ref);
      await acrRequest(registry, 'DELETE', `/acr/v1/${ref.repository}/_tags/${seg(ref.tag)}`);
      const result = { repository: ref.repository, tag: ref.tag, digest };
      if (opts.output === 'json') printJson(result);
      else printTable(['UNTAGGED', 'DIGEST'], [[`${ref.repository}:${ref.tag}`, digest]]);
    });
}
