/**
 * The access vocabulary: our actions (`content/read`…), repository patterns, and the Docker token
 * scopes clients ask for (`repository:NAME:pull,push`), translated both ways.
 */
import { ACTIONS, type Action, type ScopeMap } from '../../store/auth/types.js';

/** Docker scope action → our action. `*` means every content action. */
const FROM_DOCKER: Record<string, Action[]> = {
  pull: ['content/read'],
  push: ['content/write'],
  delete: ['content/delete'],
  metadata_read: ['metadata/read'],
  metadata_write: ['metadata/write'],
  '*': ['content/read', 'content/write', 'content/delete'],
};

const TO_DOCKER: Record<Action, string> = {
  'content/read': 'pull',
  'content/write': 'push',
  'content/delete': 'delete',
  'metadata/read': 'metadata_read',
  'metadata/write': 'metadata_write',
};

export function dockerAction(a: Action): string {
  return TO_DOCKER[a];
}

export function actionsFromDocker(actions: string[]): Action[] {
  return [...new Set(actions.flatMap((a) => FROM_DOCKER[a] ?? []))];
}

/** `team/*` matches `team/app` and `team/x/y`; `*` matches everything; other patterns are exact. */
export function patternMatches(pattern: string, repository: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*')) return repository.startsWith(pattern.slice(0, -1));
  return pattern === repository;
}

export function scopeAllows(scopes: ScopeMap, repository: string, action: Action): boolean {
  return Object.entries(scopes).some(([pattern, actions]) => actions.includes(action) && patternMatches(pattern, repository));
}

const PATTERN = /^(\*|[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?:\/\*)?)$/;

/** Parses `REPO-PATTERN:ACTION[,ACTION…]` entries (`team/*:content/read,content/write`) into a scope map. */
export function parseScopeSpecs(specs: string[]): ScopeMap {
  if (specs.length === 0) throw new Error('a token needs at least one REPO-PATTERN:ACTIONS scope');
  const map: ScopeMap = {};
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    if (colon <= 0) throw new Error(`scope ${JSON.stringify(spec)}: expected REPO-PATTERN:ACTIONS, e.g. team/*:content/read,content/write`);
    const pattern = spec.slice(0, colon);
    if (!PATTERN.test(pattern)) throw new Error(`scope ${JSON.stringify(spec)}: ${JSON.stringify(pattern)} is not a repository name or NAME/* pattern`);
    const actions = spec.slice(colon + 1).split(',').map((a) => a.trim());
    for (const a of actions) {
      if (!(ACTIONS as readonly string[]).includes(a)) throw new Error(`scope ${JSON.stringify(spec)}: unknown action ${JSON.stringify(a)} (known: ${ACTIONS.join(', ')})`);
    }
    map[pattern] = [...new Set([...(map[pattern] ?? []), ...(actions as Action[])])];
  }
  return map;
}

export function validateScopeMap(value: unknown): ScopeMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('scopes must be a map of repository pattern to actions');
  const specs = Object.entries(value as Record<string, unknown>).map(([pattern, actions]) => {
    if (!Array.isArray(actions) || actions.some((a) => typeof a !== 'string')) throw new Error(`scopes.${pattern} must be a list of actions`);
    return `${pattern}:${(actions as string[]).join(',')}`;
  });
  return parseScopeSpecs(specs);
}

export interface RequestedScope {
  type: string;
  name: string;
  actions: string[];
}

/** Parses the `scope` parameters of a token request (space-separated, possibly repeated). */
export function parseRequestedScopes(values: string[]): RequestedScope[] {
  const out: RequestedScope[] = [];
  for (const v of values.flatMap((x) => x.split(' ')).filter(Boolean)) {
    // The name may hold a port-like colon only in `registry:catalog:*`; split from both ends.
    const first = v.indexOf(':');
    const last = v.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    out.push({ type: v.slice(0, first), name: v.slice(first + 1, last), actions: v.slice(last + 1).split(',').filter(Boolean) });
  }
  return out;
}
