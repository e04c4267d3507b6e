/** The `manifold` command tree, built fresh for the binary and for task steps that run it in-process. */
import { Command } from 'commander';
import { registerAccess } from './access.js';
import { registerImport } from './import.js';
import { registerLogin } from './login.js';
import { registerManifest } from './manifest.js';
import { registerMetadataCommands } from './metadata.js';
import { registerRun } from './run.js';
import { registerServe } from './serve.js';
import { registerTransfer } from './transfer.js';

export function buildProgram(options: { inProcess?: boolean } = {}): Command {
  const program = new Command()
    .name('manifold')
    .description('Manifold: a self-hosted container registry built around multi-architecture images')
    .version('0.1.0')
    .showHelpAfterError();
  // In a task step, a usage error must fail the step, not exit the runner (set before the verbs so they inherit it).
  if (options.inProcess) program.exitOverride();
  registerServe(program);
  registerTransfer(program);
  registerManifest(program);
  registerLogin(program);
  registerMetadataCommands(program);
  registerAccess(program);
  registerImport(program);
  registerRun(program, () => buildProgram({ inProcess: true }));
  return program;
}
