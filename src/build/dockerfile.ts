/**
 * Dockerfile syntax: parser directives (`# escape=`), comments, line continuations, `--flag=value`
 * options, JSON (exec) or shell form, stages (`FROM image [AS name]`), and `$VAR` / `${VAR}` /
 * `${VAR:-default}` / `${VAR:+alternative}` substitution. Shared by the builtin builder, the
 * builder choice and the task linter.
 */

export interface Instruction {
  /** 1-based line where the instruction starts. */
  line: number;
  /** Upper-cased keyword: FROM, COPY, RUN… */
  name: string;
  /** Options before the arguments: `--from=build` → { from: 'build' }. */
  flags: Record<string, string>;
  /** The arguments after the flags, continuation lines joined. */
  args: string;
  /** The exec form's array, when the arguments are a JSON array of strings. */
  json?: string[];
}

export interface Stage {
  line: number;
  /** The FROM image (unexpanded) and its `--platform` flag. */
  from: string;
  platform?: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM: usable in FROM lines. */
  globalArgs: Instruction[];
  stages: Stage[];
}

export class DockerfileError extends Error {}

function parseFlags(text: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = text;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?\s*/.exec(rest);
    if (!m) return { flags, rest };
    flags[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
}

function parseJsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // Not JSON: the shell form, as docker treats it.
  }
  return undefined;
}

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let escape = '\\';
  // Parser directives come first, before any comment, blank line or instruction.
  for (const l of lines) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(l);
    if (!m) break;
    if (m[1]!.toLowerCase() === 'escape') escape = m[2]!;
  }
  const instructions: Instruction[] = [];
  let current: { line: number; text: string } | undefined;
  lines.forEach((raw, i) => {
    const l = raw.replace(/\s+$/, '');
    if (current === undefined && (l.trim() === '' || /^\s*#/.test(l))) return;
    if (current !== undefined && /^\s*#/.test(l)) return;
    const continued = l.endsWith(escape);
    const piece = continued ? l.slice(0, -escape.length) : l;
    if (current) current.text += ` ${piece.trim()}`;
    else current = { line: i + 1, text: piece.trim() };
    if (!continued) {
      instructions.push(toInstruction(current.line, current.text, file));
      current = undefined;
    }
  });
  if (current) instructions.push(toInstruction(current.line, current.text, file));

  const df: Dockerfile = { globalArgs: [], stages: [] };
  for (const ins of instructions) {
    if (ins.name === 'FROM') {
      const m = /^(\S+)(?:\s+as\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new DockerfileError(`${file}:${ins.line}: FROM takes an image and an optional "AS name"`);
      df.stages.push({ line: ins.line, from: m[1]!, platform: ins.flags.platform, name: m[2]?.toLowerCase(), instructions: [] });
    } else if (df.stages.length === 0) {
      if (ins.name !== 'ARG') throw new DockerfileError(`${file}:${ins.line}: ${ins.name} before the first FROM (only ARG may come first)`);
      df.globalArgs.push(ins);
    } else {
      df.stages[df.stages.length - 1]!.instructions.push(ins);
    }
  }
  if (df.stages.length === 0) throw new DockerfileError(`${file}: no FROM instruction`);
  return df;
}

function toInstruction(line: number, text: string, file: string): Instruction {
  const m = /^(\S+)\s*(.*)$/.exec(text);
  if (!m) throw new DockerfileError(`${file}:${line}: cannot read "${text}"`);
  const name = m[1]!.toUpperCase();
  const { flags, rest } = parseFlags(m[2]!);
  const ins: Instruction = { line, name, flags, args: rest.trim() };
  const json = parseJsonArray(ins.args);
  if (json) ins.json = json;
  return ins;
}

/** Expands `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}`; `\$` is a literal dollar. */
export function expandVars(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, braced: string, op: string, word: string, bare: string) => {
    if (all === '\\$') return '$';
    const name = braced ?? bare;
    const v = vars[name];
    if (op === ':-') return v ? v : expandVars(word, vars);
    if (op === ':+') return v ? expandVars(word, vars) : '';
    return v ?? '';
  });
}

/** `KEY=value KEY2="a b"` pairs (ENV, LABEL, ARG), or the legacy `ENV KEY value with spaces`. */
export function parsePairs(args: string, legacy: boolean): [string, string | undefined][] {
  if (legacy && !/^[^\s=]+=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    return m ? [[m[1]!, m[2]!]] : [[args, undefined]];
  }
  const out: [string, string | undefined][] = [];
  const re = /([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g;
  for (const m of args.matchAll(re)) {
    let v = m[2];
    if (v === undefined) out.push([m[1]!, undefined]);
    else if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    if (v !== undefined) out.push([m[1]!, v]);
  }
  return out;
}

/** The stage a build ends with: `--target NAME`, else the last. */
export function targetStage(df: Dockerfile, target: string | undefined, file = 'Dockerfile'): Stage {
  if (!target) return df.stages[df.stages.length - 1]!;
  const s = df.stages.find((x) => x.name === target.toLowerCase());
  if (!s) throw new DockerfileError(`${file}: no stage named "${target}" (stages: ${df.stages.map((x) => x.name).filter(Boolean).join(', ') || 'none named'})`);
  return s;
}

/** Values of the global ARGs, with build args overriding defaults. */
export function globalArgValues(df: Dockerfile, buildArgs: Record<string, string>, automatic: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = { ...automatic };
  for (const a of df.globalArgs) {
    for (const [k, v] of parsePairs(a.args, false)) {
      const given = buildArgs[k];
      vars[k] = given ?? (v !== undefined ? expandVars(v, vars) : (vars[k] ?? ''));
    }
  }
  return vars;
}
