/**
 * The subset of Go's text/template that task files use: `{{.Run.ID}}`, `{{.Values.name}}`,
 * literals, and pipelines into a few sprig-style functions (`{{.Values.tag | default "latest"}}`,
 * `{{lower .Run.Registry}}`). Missing keys render empty, as acb renders them. Anything else
 * (`if`, `range`, variables, unknown functions) is an error naming the line, rather than being
 * passed through half-understood.
 */

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

type Value = string | number | boolean | null | undefined | Record<string, unknown> | unknown[];

const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...args: Value[]) => Value }> = {
  lower: { arity: [1, 1], fn: (s) => text(s).toLowerCase() },
  upper: { arity: [1, 1], fn: (s) => text(s).toUpperCase() },
  trim: { arity: [1, 1], fn: (s) => text(s).trim() },
  // sprig: `default DEFAULT GIVEN` returns DEFAULT when GIVEN is empty.
  default: { arity: [1, 2], fn: (d, given) => (isEmpty(given) ? d : given) },
  quote: { arity: [1, 1], fn: (s) => JSON.stringify(text(s)) },
  squote: { arity: [1, 1], fn: (s) => `'${text(s)}'` },
  replace: { arity: [3, 3], fn: (from, to, s) => text(s).split(text(from)).join(text(to)) },
};

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue', 'nil']);

function isEmpty(v: Value): boolean {
  return v === undefined || v === null || v === '' || v === false || v === 0 || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
}

/** How a value prints: empty for missing, as Go's zero value would with missingkey=zero. */
function text(v: Value): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

type Token = { kind: 'field'; path: string[] } | { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'bool'; value: boolean } | { kind: 'ident'; name: string } | { kind: 'pipe' };

function tokenize(action: string, line: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < action.length) {
    const c = action[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '|') {
      tokens.push({ kind: 'pipe' });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < action.length && action[j] !== '"') j += action[j] === '\\' ? 2 : 1;
      if (j >= action.length) throw new TemplateError(`unterminated string in {{${action}}}`, line);
      tokens.push({ kind: 'string', value: JSON.parse(action.slice(i, j + 1)) as string });
      i = j + 1;
    } else if (c === '`') {
      const j = action.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError(`unterminated raw string in {{${action}}}`, line);
      tokens.push({ kind: 'string', value: action.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '.') {
      const m = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?/.exec(action.slice(i))!;
      tokens.push({ kind: 'field', path: m[0] === '.' ? [] : m[0].slice(1).split('.') });
      i += m[0].length;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?[0-9]+(?:\.[0-9]+)?/.exec(action.slice(i));
      if (!m) throw new TemplateError(`unexpected "${c}" in {{${action}}}`, line);
      tokens.push({ kind: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(action.slice(i))!;
      const word = m[0];
      if (word === 'true' || word === 'false') tokens.push({ kind: 'bool', value: word === 'true' });
      else tokens.push({ kind: 'ident', name: word });
      i += word.length;
    } else if (c === '$') {
      throw new TemplateError(`template variables ($…) are not supported in {{${action}}}`, line);
    } else {
      throw new TemplateError(`unexpected "${c}" in {{${action}}}`, line);
    }
  }
  return tokens;
}

function lookup(data: Record<string, unknown>, path: string[]): Value {
  let v: unknown = data;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v as Value;
}

function evaluate(action: string, data: Record<string, unknown>, line: number): string {
  const tokens = tokenize(action, line);
  if (tokens.length === 0) throw new TemplateError('empty action {{}}', line);
  const first = tokens[0]!;
  if (first.kind === 'ident' && KEYWORDS.has(first.name)) {
    throw new TemplateError(`"${first.name}" is not supported: task templates take fields (.Run.ID, .Values.x) and pipelines into ${Object.keys(FUNCTIONS).join(', ')}`, line);
  }
  // Split into commands on `|`; each command's result is the last argument of the next.
  const commands: Token[][] = [[]];
  for (const t of tokens) {
    if (t.kind === 'pipe') commands.push([]);
    else commands[commands.length - 1]!.push(t);
  }
  let piped: Value | typeof NOTHING = NOTHING;
  for (const cmd of commands) {
    if (cmd.length === 0) throw new TemplateError(`missing command in pipeline {{${action}}}`, line);
    const operand = (t: Token): Value => {
      switch (t.kind) {
        case 'field':
          return lookup(data, t.path);
        case 'string':
        case 'number':
        case 'bool':
          return t.value;
        default:
          throw new TemplateError(`"${t.kind === 'ident' ? t.name : '|'}" cannot be an argument in {{${action}}}`, line);
      }
    };
    const head = cmd[0]!;
    if (head.kind === 'ident') {
      const f = FUNCTIONS[head.name];
      if (!f) throw new TemplateError(`function "${head.name}" is not supported (supported: ${Object.keys(FUNCTIONS).join(', ')})`, line);
      const args = cmd.slice(1).map(operand);
      if (piped !== NOTHING) args.push(piped);
      if (args.length < f.arity[0] || args.length > f.arity[1]) throw new TemplateError(`wrong number of arguments for ${head.name} in {{${action}}}`, line);
      piped = f.fn(...args);
    } else {
      if (cmd.length > 1 || piped !== NOTHING) throw new TemplateError(`cannot give arguments to a value in {{${action}}}`, line);
      piped = operand(head);
    }
  }
  return text(piped as Value);
}

const NOTHING = Symbol('nothing');

/** Renders every `{{…}}` of `source`, honouring Go's `{{-` and `-}}` whitespace trimming and `{{/* comments *\/}}`. */
export function renderTemplate(source: string, data: Record<string, unknown>): string {
  let out = '';
  let pos = 0;
  for (;;) {
    const open = source.indexOf('{{', pos);
    if (open < 0) return out + source.slice(pos);
    const line = source.slice(0, open).split('\n').length;
    let before = source.slice(pos, open);
    const inner = source.indexOf('}}', open + 2);
    if (inner < 0) throw new TemplateError('unclosed action: "{{" without "}}"', line);
    let body = source.slice(open + 2, inner);
    if (/^-\s/.test(body)) {
      before = before.replace(/\s+$/, '');
      body = body.slice(1);
    }
    let trimAfter = false;
    if (/\s-$/.test(body)) {
      trimAfter = true;
      body = body.slice(0, -1);
    }
    out += before;
    const trimmed = body.trim();
    if (!(trimmed.startsWith('/*') && trimmed.endsWith('*/'))) out += evaluate(body, data, line);
    pos = inner + 2;
    if (trimAfter) {
      const rest = /^\s*/.exec(source.slice(pos))![0];
      pos += rest.length;
    }
  }
}
