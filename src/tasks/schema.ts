/**
 * The task file's shape (acb's `version: v1.1.0` format), checked property by property with
 * line numbers from the YAML node ranges: unknown properties, wrong types, a step without
 * exactly one of build/push/cmd, duplicate ids and bad `when` references are all reported,
 * every one, before anything runs.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';

export const TASK_VERSIONS = ['v1.0.0', 'v1.1.0', '1.0-preview-1'];
export const DEFAULT_STEP_TIMEOUT = 600;
export const DEFAULT_RETRY_DELAY = 5;
/** `when: ["-"]`: start at once. */
export const IMMEDIATE = '-';

export interface Issue {
  line: number;
  message: string;
}

export class TaskFileError extends Error {
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => `line ${i.line}: ${i.message}`).join('; '));
  }
}

export interface VolumeMount {
  name: string;
  mountPath: string;
}

export interface Step {
  index: number;
  id: string;
  line: number;
  kind: 'build' | 'push' | 'cmd';
  build?: string;
  push?: string[];
  cmd?: string;
  /** Ids to wait for; undefined: the previous step; `['-']`: none. */
  when?: string[];
  env: string[];
  timeout: number;
  ignoreErrors: boolean;
  retries: number;
  retryDelay: number;
  repeat: number;
  startDelay: number;
  workingDirectory?: string;
  entryPoint?: string;
  detach: boolean;
  keep: boolean;
  user?: string;
  privileged: boolean;
  ports: string[];
  expose: string[];
  pull: boolean;
  volumeMounts: VolumeMount[];
  /** acb properties accepted for compatibility that change nothing here. */
  ignored: { name: string; line: number }[];
  /** Line of each property, for later messages. */
  lines: Record<string, number>;
}

export interface Task {
  version: string;
  stepTimeout: number;
  workingDirectory?: string;
  env: string[];
  secrets: { id: string; line: number }[];
  volumes: { name: string; secret: Record<string, string>; line: number }[];
  steps: Step[];
}

const TASK_KEYS = new Set(['version', 'stepTimeout', 'workingDirectory', 'env', 'secrets', 'volumes', 'steps', 'networks']);
const STEP_KEYS = new Set([
  'id', 'build', 'push', 'cmd', 'when', 'env', 'timeout', 'ignoreErrors', 'retries', 'retryDelay', 'repeat', 'startDelay',
  'workingDirectory', 'entryPoint', 'detach', 'keep', 'user', 'privileged', 'ports', 'expose', 'pull', 'volumeMounts',
]);
/** acb knobs for its docker networks and caches; accepted so acb files load, reported by lint. */
const IGNORED_STEP_KEYS = new Set(['network', 'isolation', 'cpus', 'cache', 'disableWorkingDirectoryOverride']);

class Checker {
  readonly issues: Issue[] = [];
  constructor(private readonly lc: LineCounter) {}

  line(node: Node | Pair | null | undefined): number {
    const n = (node && 'key' in node ? node.key : node) as Node | null | undefined;
    const offset = n?.range?.[0];
    return offset === undefined ? 0 : this.lc.linePos(offset).line;
  }

  fail(at: Node | Pair | null | undefined | number, message: string): void {
    this.issues.push({ line: typeof at === 'number' ? at : this.line(at), message });
  }

  string(node: unknown, where: string): string | undefined {
    if (isScalar(node) && node.value !== null && typeof node.value !== 'object') return String(node.value);
    this.fail(node as Node, `${where} must be a string`);
    return undefined;
  }

  int(node: unknown, where: string): number | undefined {
    if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= 0) return node.value;
    this.fail(node as Node, `${where} must be a whole number ≥ 0`);
    return undefined;
  }

  bool(node: unknown, where: string): boolean {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.fail(node as Node, `${where} must be true or false`);
    return false;
  }

  strings(node: unknown, where: string): string[] {
    if (isSeq(node)) return node.items.map((i, n) => this.string(i, `${where}[${n}]`)).filter((s): s is string => s !== undefined);
    if (isScalar(node)) {
      const s = this.string(node, where);
      return s === undefined ? [] : [s];
    }
    this.fail(node as Node, `${where} must be a list of strings`);
    return [];
  }

  env(node: unknown, where: string): string[] {
    const list = this.strings(node, where);
    for (const e of list) if (!/^[^=\s]+=/.test(e)) this.fail(node as Node, `${where}: "${e}" is not NAME=value`);
    return list;
  }

  map(node: unknown, where: string): YAMLMap | undefined {
    if (isMap(node)) return node;
    this.fail(node as Node, `${where} must be a map`);
    return undefined;
  }
}

/** Parses a rendered task file; throws TaskFileError listing every problem found. */
export function parseTask(text: string): Task {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    throw new TaskFileError(doc.errors.map((e) => ({ line: e.linePos?.[0]?.line ?? 0, message: `YAML: ${e.message.split('\n')[0]}` })));
  }
  const c = new Checker(lc);
  const task: Task = { version: TASK_VERSIONS[0]!, stepTimeout: DEFAULT_STEP_TIMEOUT, env: [], secrets: [], volumes: [], steps: [] };
  const root = doc.contents;
  if (!isMap(root)) throw new TaskFileError([{ line: c.line(root) || 1, message: 'a task file is a map with version and steps' }]);

  let stepsNode: unknown;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!TASK_KEYS.has(key)) {
      c.fail(pair, `unknown property "${key}" (a task takes ${[...TASK_KEYS].join(', ')}, alias)`);
      continue;
    }
    const v = pair.value;
    switch (key) {
      case 'version': {
        const s = c.string(v, 'version');
        if (s !== undefined && !TASK_VERSIONS.includes(s.toLowerCase())) c.fail(pair, `version ${s} is not supported (use ${TASK_VERSIONS.slice(0, 2).join(' or ')})`);
        if (s) task.version = s;
        break;
      }
      case 'stepTimeout': {
        const n = c.int(v, 'stepTimeout');
        if (n) task.stepTimeout = n;
        break;
      }
      case 'workingDirectory':
        task.workingDirectory = c.string(v, 'workingDirectory');
        break;
      case 'env':
        task.env = c.env(v, 'env');
        break;
      case 'secrets':
        if (!isSeq(v)) c.fail(pair, 'secrets must be a list');
        else for (const s of v.items) {
          const m = c.map(s, 'a secret');
          const id = m && m.get('id', true);
          if (m) task.secrets.push({ id: (id && c.string(id, 'secret id')) ?? '', line: c.line(m) });
        }
        break;
      case 'volumes':
        if (!isSeq(v)) c.fail(pair, 'volumes must be a list');
        else for (const item of v.items) parseVolume(c, item, task);
        break;
      case 'networks':
        // acb's docker networks: steps here do not share a network namespace to configure.
        break;
      case 'steps':
        stepsNode = v;
        break;
    }
  }
  if (stepsNode === undefined) c.fail(1, 'the task has no steps');
  else if (!isSeq(stepsNode) || stepsNode.items.length === 0) c.fail(stepsNode as Node, 'steps must be a non-empty list');
  else stepsNode.items.forEach((item, i) => {
    const step = parseStep(c, item, i, task);
    if (step) task.steps.push(step);
  });
  checkIds(c, task.steps);
  if (c.issues.length) throw new TaskFileError(c.issues.sort((a, b) => a.line - b.line));
  return task;
}

function parseVolume(c: Checker, item: unknown, task: Task): void {
  const m = c.map(item, 'a volume');
  if (!m) return;
  let name = '';
  const secret: Record<string, string> = {};
  for (const pair of m.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key === 'name') name = c.string(pair.value, 'volume name') ?? '';
    else if (key === 'secret') {
      const s = c.map(pair.value, 'volume secret');
      for (const p of s?.items ?? []) secret[String((p.key as { value: unknown }).value)] = c.string(p.value, 'a volume secret value') ?? '';
    } else c.fail(pair, `unknown property "${key}" of a volume (expected name, secret)`);
  }
  if (!name) c.fail(m, 'a volume needs a name');
  task.volumes.push({ name, secret, line: c.line(m) });
}

function parseStep(c: Checker, item: unknown, index: number, task: Task): Step | undefined {
  if (!isMap(item)) {
    c.fail(item as Node, `step ${index + 1} must be a map with one of build, push, cmd`);
    return undefined;
  }
  const step: Step = {
    index,
    id: `acb_step_${index}`,
    line: c.line(item),
    kind: 'cmd',
    env: [],
    timeout: task.stepTimeout,
    ignoreErrors: false,
    retries: 0,
    retryDelay: DEFAULT_RETRY_DELAY,
    repeat: 0,
    startDelay: 0,
    detach: false,
    keep: false,
    privileged: false,
    ports: [],
    expose: [],
    pull: false,
    volumeMounts: [],
    ignored: [],
    lines: {},
  };
  const kinds: string[] = [];
  for (const pair of item.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value;
    step.lines[key] = c.line(pair);
    if (IGNORED_STEP_KEYS.has(key)) {
      step.ignored.push({ name: key, line: c.line(pair) });
      continue;
    }
    if (!STEP_KEYS.has(key)) {
      c.fail(pair, `unknown property "${key}" in step ${index + 1} (a step takes ${[...STEP_KEYS].join(', ')})`);
      continue;
    }
    const where = `${key}`;
    switch (key) {
      case 'id': {
        const s = c.string(v, 'id');
        if (s !== undefined) {
          if (/\s/.test(s) || s === '') c.fail(pair, `step id "${s}" cannot be empty or contain spaces`);
          step.id = s;
        }
        break;
      }
      case 'build':
      case 'cmd': {
        kinds.push(key);
        const s = c.string(v, key);
        if (s !== undefined && s.trim() === '') c.fail(pair, `${key} is empty`);
        step[key] = s?.trim();
        break;
      }
      case 'push':
        kinds.push(key);
        step.push = c.strings(v, 'push').map((s) => s.trim());
        if (step.push.length === 0) c.fail(pair, 'push lists no images');
        break;
      case 'when':
        step.when = c.strings(v, 'when');
        break;
      case 'env':
        step.env = c.env(v, 'env');
        break;
      case 'ports':
      case 'expose':
        step[key] = c.strings(v, key);
        break;
      case 'timeout':
      case 'retries':
      case 'retryDelay':
      case 'repeat':
      case 'startDelay': {
        const n = c.int(v, where);
        // acb: a timeout or retry delay of 0 means the default.
        if (n !== undefined && !((key === 'timeout' || key === 'retryDelay') && n === 0)) step[key] = n;
        break;
      }
      case 'ignoreErrors':
      case 'detach':
      case 'keep':
      case 'privileged':
      case 'pull':
        step[key] = c.bool(v, key);
        break;
      case 'workingDirectory':
      case 'entryPoint':
      case 'user':
        step[key] = c.string(v, key);
        break;
      case 'volumeMounts':
        if (!isSeq(v)) c.fail(pair, 'volumeMounts must be a list of {name, mountPath}');
        else for (const m of v.items) {
          const map = c.map(m, 'a volume mount');
          const name = map?.get('name', true);
          const mountPath = map?.get('mountPath', true);
          if (map && (!name || !mountPath)) c.fail(map, 'a volume mount needs name and mountPath');
          else if (map) step.volumeMounts.push({ name: c.string(name, 'name') ?? '', mountPath: c.string(mountPath, 'mountPath') ?? '' });
        }
        break;
    }
  }
  if (kinds.length !== 1) {
    c.fail(item, kinds.length === 0 ? `step ${step.id} has none of build, push, cmd: a step takes exactly one` : `step ${step.id} has ${kinds.join(' and ')}: a step takes exactly one of build, push, cmd`);
  }
  step.kind = (kinds[0] ?? 'cmd') as Step['kind'];
  step.workingDirectory ??= task.workingDirectory;
  // Task env applies to every step; a step's own value for a name wins.
  const own = new Set(step.env.map((e) => e.slice(0, e.indexOf('='))));
  step.env = [...step.env, ...task.env.filter((e) => !own.has(e.slice(0, e.indexOf('='))))];
  if (step.volumeMounts.length && step.kind !== 'cmd') c.fail(item, `step ${step.id}: volumeMounts apply to cmd steps only`);
  for (const vm of step.volumeMounts) if (!task.volumes.some((vol) => vol.name === vm.name)) c.fail(item, `step ${step.id} mounts volume "${vm.name}", which the task does not define`);
  return step;
}

function checkIds(c: Checker, steps: Step[]): void {
  const ids = new Map<string, Step>();
  for (const s of steps) {
    if (ids.has(s.id)) c.fail(s.line, `duplicate step id "${s.id}" (also on line ${ids.get(s.id)!.line})`);
    ids.set(s.id, s);
  }
  for (const s of steps) {
    if (!s.when) continue;
    const line = s.lines.when ?? s.line;
    if (s.when.includes(IMMEDIATE) && s.when.length > 1) c.fail(line, `step ${s.id}: when: ["-"] cannot be combined with other ids`);
    for (const dep of s.when) {
      if (dep === IMMEDIATE) continue;
      if (dep === s.id) c.fail(line, `step ${s.id} waits for itself`);
      else if (!ids.has(dep)) c.fail(line, `step ${s.id} waits for "${dep}", which is not a step id (ids: ${[...ids.keys()].join(', ')})`);
    }
  }
}
