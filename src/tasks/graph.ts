/**
 * The step graph, with acb's rules: `when: ["-"]` starts at once, `when: [ids]` waits for
 * those steps, and no `when` waits for the step before (the first step starts at once).
 * Cycles are refused with the steps that form them.
 */
import { IMMEDIATE, TaskFileError, type Step } from './schema.js';

/** Each step's id → the ids it waits for. */
export function dependencies(steps: Step[]): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  steps.forEach((s, i) => {
    if (s.when === undefined) deps.set(s.id, i === 0 ? [] : [steps[i - 1]!.id]);
    else deps.set(s.id, s.when.filter((w) => w !== IMMEDIATE));
  });
  const cycle = findCycle(deps);
  if (cycle) {
    const first = steps.find((s) => s.id === cycle[0])!;
    throw new TaskFileError([{ line: first.lines.when ?? first.line, message: `steps wait for each other in a cycle: ${cycle.join(' → ')}` }]);
  }
  return deps;
}

function findCycle(deps: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const d of deps.get(id) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of deps.keys()) {
    const c = visit(id);
    if (c) return c;
  }
  return undefined;
}
