/**
 * acb's alias pass, which runs before templating: `$Registry`, `$ID`, `$Date`… (the built-in
 * aliases, which expand to `{{.Run.…}}` templates) and the task's own `alias: {values, src,
 * directive}`. `$$` writes a literal `$`; an unknown `$name` is left as it is. Lines are blanked
 * rather than removed, so that later errors still point at the right line of the file.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';

/** acb's native aliases (graph/global-defaults-linux.go): run values, and image names usable in `cmd` without `$`. */
export const GLOBAL_ALIASES: Readonly<Record<string, string>> = {
  ID: '{{.Run.ID}}',
  SharedVolume: '{{.Run.SharedVolume}}',
  Registry: '{{.Run.Registry}}',
  RegistryName: '{{.Run.RegistryName}}',
  Date: '{{.Run.Date}}',
  OS: '{{.Run.OS}}',
  Architecture: '{{.Run.Architecture}}',
  Commit: '{{.Run.Commit}}',
  Branch: '{{.Run.Branch}}',
  acr: 'mcr.microsoft.com/acr/acr-cli:0.19',
  az: 'mcr.microsoft.com/acr/azure-cli:fe316c9',
  bash: 'mcr.microsoft.com/acr/bash:fe316c9',
  curl: 'mcr.microsoft.com/acr/curl:fe316c9',
  cssc: 'mcr.microsoft.com/acr/cssc:fe316c9',
};

const ALIAS_NAME = /^[A-Za-z0-9]+$/;

export interface AliasResult {
  /** The file with aliases expanded, the alias section and comment lines blanked. */
  text: string;
  aliases: Record<string, string>;
}

/** Splits off the top-level `alias:` section (up to the next top-level key), as acb does, line by line. */
function separate(source: string): { aliasYaml: string; rest: string; aliasLine: number } {
  const lines = source.split('\n');
  const aliasLines: string[] = [];
  let inside = false;
  let aliasLine = 0;
  const rest = lines.map((line, i) => {
    if (/^#/.test(line)) return '';
    if (/^alias\s*:/.test(line) && !inside) {
      inside = true;
      aliasLine = i + 1;
    } else if (inside && /^[^\s:#-][^:]*:/.test(line)) {
      inside = false;
    }
    if (inside) {
      aliasLines.push(line);
      return '';
    }
    return line;
  });
  return { aliasYaml: aliasLines.join('\n'), rest: rest.join('\n'), aliasLine };
}

function checkMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where} must be a map of names to values`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (!ALIAS_NAME.test(k)) throw new Error(`${where}: alias name "${k}" must be letters and digits only`);
    out[k] = val === null || val === undefined ? '' : String(val);
  }
  return out;
}

export async function expandAliases(source: string, baseDir: string): Promise<AliasResult> {
  const { aliasYaml, rest, aliasLine } = separate(source);
  let section: { values?: unknown; src?: unknown; directive?: unknown } = {};
  if (aliasYaml) {
    let doc: unknown;
    try {
      doc = parse(aliasYaml);
    } catch (e) {
      throw new Error(`line ${aliasLine}: alias: ${(e as Error).message.split('\n')[0]}`);
    }
    const a = (doc as { alias?: unknown } | null)?.alias;
    if (a !== null && a !== undefined && (typeof a !== 'object' || Array.isArray(a))) throw new Error(`line ${aliasLine}: alias must be a map with values, src and directive`);
    section = (a ?? {}) as typeof section;
    for (const k of Object.keys(section)) {
      if (!['values', 'src', 'directive'].includes(k)) throw new Error(`line ${aliasLine}: unknown property "alias.${k}" (expected values, src, directive)`);
    }
  }
  let directive = '$';
  if (section.directive !== undefined) {
    const d = String(section.directive);
    if ([...d].length !== 1) throw new Error(`line ${aliasLine}: alias.directive must be a single character`);
    if (ALIAS_NAME.test(d)) throw new Error(`line ${aliasLine}: alias.directive cannot be a letter or digit`);
    directive = d;
  }
  // Precedence: the task's own values, then src files (later files win), then the built-ins.
  const aliases: Record<string, string> = { ...GLOBAL_ALIASES };
  const srcs = section.src === undefined ? [] : Array.isArray(section.src) ? section.src.map(String) : [String(section.src)];
  for (const src of srcs) {
    if (/^https?:\/\//.test(src)) throw new Error(`line ${aliasLine}: alias.src ${src}: remote alias files are not fetched; download it and name the local file`);
    let text: string;
    try {
      text = await readFile(resolve(baseDir, src), 'utf8');
    } catch (e) {
      throw new Error(`line ${aliasLine}: alias.src ${src}: ${(e as Error).message}`);
    }
    Object.assign(aliases, checkMap(parse(text), `alias file ${src}`));
  }
  Object.assign(aliases, checkMap(section.values, `line ${aliasLine}: alias.values`));
  return { text: substitute(rest, aliases, directive), aliases };
}

/** Replaces `<directive>name` where name is a known alias; `<directive><directive>` is a literal. */
export function substitute(text: string, aliases: Record<string, string>, directive = '$'): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== directive) {
      out += c;
      i++;
      continue;
    }
    if (text[i + 1] === directive) {
      out += directive;
      i += 2;
      continue;
    }
    const m = /^[A-Za-z0-9]+/.exec(text.slice(i + 1));
    const name = m?.[0];
    if (name !== undefined && Object.hasOwn(aliases, name)) out += aliases[name];
    else out += directive + (name ?? '');
    i += 1 + (name?.length ?? 0);
  }
  return out;
}
