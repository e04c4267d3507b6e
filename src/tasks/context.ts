/**
 * The data templates see: `.Run` (this run's ID, registry, date, platform, task name, git
 * commit and branch) and `.Values` (from `--values FILE`, then `--set key=value`, which wins).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { hostPlatform } from '../oci/platform.js';

export interface RunInfo {
  ID: string;
  Registry: string;
  RegistryName: string;
  Date: string;
  OS: string;
  Architecture: string;
  TaskName: string;
  Commit: string;
  Branch: string;
  SharedVolume: string;
}

/** Run IDs are short, lowercase and valid in tags: `mf` + 6 base-36 characters. */
export function newRunId(): string {
  const n = randomBytes(5).readUIntBE(0, 5);
  return `mf${n.toString(36).padStart(6, '0').slice(-6)}`;
}

/** acb's `{{.Run.Date}}` format: UTC, `20060102-150405z`. */
export function runDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}z`;
}

/**
 * `{{.Run.RegistryName}}` is the registry's short name (`myregistry` for
 * `myregistry.azurecr.io`); an IP address or `localhost` has no such name and stands for itself.
 */
export function registryName(registry: string): string {
  const host = registry.replace(/:\d+$/, '');
  if (/^[0-9.]+$/.test(host) || host.startsWith('[') || !host.includes('.')) return registry;
  return host.split('.')[0]!;
}

export function runInfo(options: { registry: string; id?: string; taskName: string; commit?: string; branch?: string; sharedVolume?: string; now?: Date }): RunInfo {
  const p = hostPlatform();
  return {
    ID: options.id ?? newRunId(),
    Registry: options.registry,
    RegistryName: registryName(options.registry),
    Date: runDate(options.now ?? new Date()),
    OS: p.os,
    Architecture: p.architecture,
    TaskName: options.taskName,
    Commit: options.commit ?? '',
    Branch: options.branch ?? '',
    SharedVolume: options.sharedVolume ?? '',
  };
}

/** `key=value`; a dotted key (`image.tag=1`) sets a nested value, as helm's --set does. */
export function applySet(values: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`--set takes key=value, not ${JSON.stringify(assignment)}`);
  const path = assignment.slice(0, eq).split('.');
  if (path.some((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))) throw new Error(`--set: ${assignment.slice(0, eq)} is not a valid key (letters, digits, _ and dots)`);
  let node = values;
  for (const k of path.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = assignment.slice(eq + 1);
}

export async function loadValues(files: string[], sets: string[]): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new Error(`--values ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`--values ${file}: expected a map of names to values`);
    Object.assign(values, doc);
  }
  for (const s of sets) applySet(values, s);
  return values;
}
