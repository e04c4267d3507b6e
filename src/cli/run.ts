/**
 * `manifold run -f TASK.yaml [CONTEXT]` and `manifold task lint TASK.yaml [CONTEXT]`: acb task
 * files, run as a step graph against a registry. The run owns a temp directory holding the
 * images its build steps make and the manifest lists its `docker manifest` steps assemble (so a
 * list left over from an earlier run, or the user's own, never changes what a run does).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ImageStore } from '../build/store.js';
import type { BuilderName } from '../build/request.js';
import { formatPlatform, hostPlatform, parsePlatform } from '../oci/platform.js';
import { loadValues, runInfo } from '../tasks/context.js';
import { lintTask } from '../tasks/lint.js';
import { loadTask } from '../tasks/load.js';
import { runSteps } from '../tasks/scheduler.js';
import { TaskFileError, type Issue } from '../tasks/schema.js';
import { stepExecutor } from '../tasks/steps.js';
import { withCapturedLines } from './capture.js';
import { addConnectionOptions, clientsFrom, collect, type ConnectionFlags } from './common.js';
import { runView, summaryTable } from './run-view.js';


interface TaskFlags extends ConnectionFlags {
  registry: string;
  set?: string[];
  values?: string[];
  platform?: string;
  id?: string;
  taskName?: string;
  commit?: string;
  branch?: string;
}

interface RunFlags extends TaskFlags {
  file: string;
  builder: BuilderName | 'auto';
  keepWork?: boolean;
}

function addTaskOptions(cmd: Command): Command {
  return addConnectionOptions(cmd)
    .option('--registry <host[:port]>', 'the registry of {{.Run.Registry}} and of image names without one (env MANIFOLD_REGISTRY)', process.env.MANIFOLD_REGISTRY || '127.0.0.1:5000')
    .option('--set <key=value>', 'a value for {{.Values.key}} (repeatable; wins over --values)', collect)
    .option('--values <file>', 'a YAML file of values for {{.Values.…}} (repeatable)', collect)
    .option('--platform <os/arch[/variant]>', 'platform of build steps that give none, and of {{.Run.OS}}/{{.Run.Architecture}} (default: this machine)')
    .option('--id <id>', '{{.Run.ID}} (default: a new random id)')
    .option('--task-name <name>', '{{.Run.TaskName}} (default: the file name without extension)')
    .option('--commit <sha>', '{{.Run.Commit}}')
    .option('--branch <name>', '{{.Run.Branch}}');
}

function formatIssues(file: string, kind: 'error' | 'warning', issues: Issue[]): string {
  return issues.map((i) => `${file}:${i.line}: ${kind}: ${i.message}\n`).join('');
}

async function prepare(file: string, context: string | undefined, flags: TaskFlags) {
  const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
  const run = runInfo({ registry: flags.registry, id: flags.id, taskName: flags.taskName ?? basename(file, extname(file)), commit: flags.commit, branch: flags.branch });
  if (platform) {
    run.OS = platform.os;
    run.Architecture = platform.architecture;
  }
  if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(run.ID)) throw new Error(`--id ${run.ID}: use letters, digits, . _ - (it goes into image tags)`);
  const values = await loadValues(flags.values ?? [], flags.set ?? []);
  const loaded = await loadTask(file, run, values);
  const contextDir = resolve(context ?? '.');
  const warnings = await lintTask(loaded.task, { contextDir, registry: flags.registry, platform });
  return { run, task: loaded.task, contextDir, platform, warnings };
}

/** Runs `manifold ARGS…` in this process for a task step, its output delivered line by line. */
function inProcessRunner(makeProgram: () => Command) {
  return async (args: string[], log: (line: string) => void): Promise<void> => {
    await withCapturedLines(log, async () => {
      try {
        await makeProgram().parseAsync(args, { from: 'user' });
      } catch (e) {
        if (e instanceof CommanderError) {
          if (e.exitCode === 0) return;
          throw new Error(`${args.slice(0, 2).join(' ')}: ${e.message.replace(/^error: /, '')}`);
        }
        throw e;
      }
    });
  };
}

export function registerRun(program: Command, makeProgram: () => Command): void {
  addTaskOptions(
    program
      .command('run')
      .description('Run a multi-step task file (acb format): build, push and publish multi-arch images')
      .requiredOption('-f, --file <task.yaml>', 'the task file')
      .argument('[context]', 'the build context directory (default: the current directory)')
      .addOption(new Option('--builder <builder>', 'auto: builtin unless a Dockerfile needs RUN, then buildah').choices(['auto', 'builtin', 'buildah']).default('auto'))
      .option('--keep-work', "keep the run's temp directory (built images, local lists) and print its path"),
  )
    .addHelpText(
      'after',
      [
        '',
        'Steps run as a graph: `when: [ids]` waits for those steps, `when: ["-"]` starts at once, no `when` waits',
        'for the step before. docker manifest … and manifold … cmd steps run inside Manifold (no Docker needed);',
        'other cmd steps run their image with podman. The file is linted first; warnings are printed, errors stop.',
        '',
        'Example:',
        '  manifold run -f multi-arch.yaml . --registry 127.0.0.1:5000 --set tag=1.0',
      ].join('\n'),
    )
    .action(async (context: string | undefined, flags: RunFlags) => {
      const { run, task, contextDir, platform, warnings } = await prepare(flags.file, context, flags).catch((e: unknown) => {
        if (!(e instanceof TaskFileError)) throw e;
        const first = e.issues[0]!;
        const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more: manifold task lint ${flags.file})` : '';
        throw new Error(`${flags.file}:${first.line}: ${first.message}${more}`);
      });
      process.stderr.write(formatIssues(flags.file, 'warning', warnings));
      if (task.secrets.length) throw new Error(`${flags.file}:${task.secrets[0]!.line}: secrets (Azure Key Vault) cannot be resolved by this runner`);
      const workDir = await mkdtemp(join(tmpdir(), `manifold-run-${run.ID}-`));
      // Local manifest lists belong to the run: see the module comment.
      const savedConfigDir = process.env.MANIFOLD_CONFIG_DIR;
      process.env.MANIFOLD_CONFIG_DIR = join(workDir, 'config');
      const stop = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\ninterrupted: stopping running steps (Ctrl-C again to quit at once)\n');
        stop.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      process.stderr.write(`run ${run.ID}: ${task.steps.length} step(s), registry ${run.Registry}, platform ${formatPlatform(platform ?? hostPlatform())}\n`);
      const view = runView(task.steps.map((s) => s.id));
      let outcomes;
      try {
        const store = new ImageStore(join(workDir, 'images'), flags.registry);
        const executor = stepExecutor(
          { runId: run.ID, contextDir, store, clients: clientsFrom(flags), workDir, builder: flags.builder, platform, manifold: inProcessRunner(makeProgram) },
          task,
        );
        outcomes = await runSteps(task.steps, executor, { onStatus: (o) => view.status(o), onLog: (id, line) => view.log(id, line) }, stop.signal);
      } finally {
        view.finish();
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
        if (savedConfigDir === undefined) delete process.env.MANIFOLD_CONFIG_DIR;
        else process.env.MANIFOLD_CONFIG_DIR = savedConfigDir;
        if (flags.keepWork) process.stderr.write(`work directory kept: ${workDir}\n`);
        else await rm(workDir, { recursive: true, force: true });
      }
      process.stdout.write(summaryTable(outcomes));
      if (stop.signal.aborted) {
        process.stderr.write('manifold: run interrupted\n');
        process.exit(130);
      }
      const failed = outcomes.find((o) => o.status === 'failed' && !o.ignored);
      if (failed) throw new Error(`step ${failed.id} failed: ${failed.error}`);
    });

  const taskCmd = program.command('task').description('Work with task files');
  addTaskOptions(
    taskCmd
      .command('lint')
      .description('Check a task file: schema errors (with line numbers) and likely mistakes (warnings)')
      .argument('<task.yaml>', 'the task file')
      .argument('[context]', 'the build context, to check Dockerfiles (default: the current directory)')
      .option('--strict', 'exit non-zero on warnings too'),
  )
    .addHelpText('after', '\nExample:\n  manifold task lint multi-arch.yaml . --registry 127.0.0.1:5000')
    .action(async (file: string, context: string | undefined, flags: TaskFlags & { strict?: boolean }) => {
      const result = await prepare(file, context, flags).catch((e: unknown) => {
        if (!(e instanceof TaskFileError)) throw e;
        // Every schema error, one per line; the last line sums up.
        process.stderr.write(formatIssues(file, 'error', e.issues));
        throw new Error(e.issues.length === 1 ? `${file}:${e.issues[0]!.line}: ${e.issues[0]!.message}` : `${file}: ${e.issues.length} errors`);
      });
      process.stdout.write(formatIssues(file, 'warning', result.warnings));
      if (result.warnings.length === 0) process.stdout.write(`${file}: ${result.task.steps.length} step(s), no problems found\n`);
      if (flags.strict && result.warnings.length) throw new Error(`${file}: ${result.warnings.length} warning(s)`);
    });
}
