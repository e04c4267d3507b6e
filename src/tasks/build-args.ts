/**
 * A build step's string is `docker build`'s arguments; this reads the ones that matter here
 * (`-t`, `-f`, `--build-arg`, `--target`, `--platform`, `--label`, `--no-cache`, `--pull`,
 * `--builder`) and the context, accepts docker's no-op flags, and refuses the rest by name.
 */
import { parsePlatform, type Platform } from '../oci/platform.js';
import type { BuilderName } from '../build/request.js';
import { splitWords } from './words.js';

export interface BuildArgs {
  tags: string[];
  file?: string;
  buildArgs: Record<string, string>;
  target?: string;
  platform?: Platform;
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  builder?: BuilderName;
  context: string;
}

const WITH_VALUE = new Set(['-t', '--tag', '-f', '--file', '--build-arg', '--target', '--platform', '--label', '--builder', '--network', '--isolation', '--cache-from', '--progress', '-m', '--memory', '--secret', '--ssh']);
const IGNORED = new Set(['--network', '--isolation', '--cache-from', '--progress', '-m', '--memory', '-q', '--quiet', '--rm', '--force-rm', '--load']);

export function parseBuildArgs(text: string, env: Record<string, string | undefined>): BuildArgs {
  const words = splitWords(text);
  const out: BuildArgs = { tags: [], buildArgs: {}, labels: {}, noCache: false, pull: false, context: '' };
  const contexts: string[] = [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    let value: string | undefined;
    const eq = w.indexOf('=');
    if (w.startsWith('--') && eq > 0) {
      value = w.slice(eq + 1);
      w = w.slice(0, eq);
    } else if (/^-[tfm]./.test(w)) {
      value = w.slice(w[2] === '=' ? 3 : 2);
      w = w.slice(0, 2);
    }
    if (!w.startsWith('-') || w === '-') {
      contexts.push(w);
      continue;
    }
    if (WITH_VALUE.has(w) && value === undefined) {
      value = words[++i];
      if (value === undefined) throw new Error(`build: ${w} needs a value`);
    }
    if (IGNORED.has(w)) continue;
    switch (w) {
      case '-t':
      case '--tag':
        out.tags.push(value!);
        break;
      case '-f':
      case '--file':
        out.file = value;
        break;
      case '--build-arg': {
        const e = value!.indexOf('=');
        // `--build-arg NAME` takes the value from the environment, as docker does.
        if (e < 0) {
          const v = env[value!];
          if (v !== undefined) out.buildArgs[value!] = v;
        } else out.buildArgs[value!.slice(0, e)] = value!.slice(e + 1);
        break;
      }
      case '--label': {
        const e = value!.indexOf('=');
        out.labels[e < 0 ? value! : value!.slice(0, e)] = e < 0 ? '' : value!.slice(e + 1);
        break;
      }
      case '--target':
        out.target = value;
        break;
      case '--platform':
        if (value!.includes(',')) throw new Error(`build: --platform ${value} names several platforms: build one per step, then combine them with docker manifest create`);
        out.platform = parsePlatform(value!);
        break;
      case '--builder':
        if (value !== 'builtin' && value !== 'buildah') throw new Error('build: --builder is builtin or buildah');
        out.builder = value;
        break;
      case '--no-cache':
        out.noCache = true;
        break;
      case '--pull':
        out.pull = true;
        break;
      default:
        throw new Error(`build: unsupported option ${w} (supported: -t, -f, --build-arg, --target, --platform, --label, --no-cache, --pull, --builder)`);
    }
  }
  if (contexts.length !== 1) throw new Error(`build: expected one build context (such as .), got ${contexts.length ? contexts.join(' ') : 'none'}`);
  out.context = contexts[0]!;
  return out;
}
