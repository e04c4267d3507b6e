/**
 * From a task file on disk to a checked Task, in acb's order: aliases, then templates, then YAML.
 * Each pass keeps the file's line numbering, so every error points at the line the user wrote.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { expandAliases } from './alias.js';
import type { RunInfo } from './context.js';
import { dependencies } from './graph.js';
import { parseTask, TaskFileError, type Task } from './schema.js';
import { renderTemplate, TemplateError } from './template.js';

export interface LoadedTask {
  task: Task;
  /** The file as YAML saw it (after aliases and templates), for messages and debugging. */
  rendered: string;
}

export async function loadTask(file: string, run: RunInfo, values: Record<string, unknown>): Promise<LoadedTask> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read task file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return loadTaskText(source, dirname(file), run, values);
}

export async function loadTaskText(source: string, baseDir: string, run: RunInfo, values: Record<string, unknown>): Promise<LoadedTask> {
  const { text, aliases } = await expandAliases(source.replace(/\r\n/g, '\n'), baseDir);
  let rendered: string;
  try {
    rendered = renderTemplate(text, { Run: run, Values: values });
  } catch (e) {
    if (e instanceof TemplateError) throw new TaskFileError([{ line: e.line, message: e.message.replace(/^line \d+: /, '') }]);
    throw e;
  }
  const task = parseTask(rendered);
  // acb resolves an image alias that starts a cmd even without `$` (`cmd: bash echo hi`).
  for (const step of task.steps) {
    if (step.kind !== 'cmd' || !step.cmd) continue;
    const [first, ...rest] = step.cmd.split(' ');
    if (first && Object.hasOwn(aliases, first) && /^[a-z]/.test(first)) step.cmd = [aliases[first], ...rest].join(' ');
  }
  dependencies(task.steps);
  return { task, rendered };
}
