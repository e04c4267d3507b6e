import { Command, CommanderError } from 'commander';
import { registerAccess } from './access.js';
import { registerImport } from './import.js';
import { registerLogin } from './login.js';
import { registerManifest } from './manifest.js';
import { registerMetadataCommands } from './metadata.js';
import { registerServe } from './serve.js';
import { registerTransfer } from './transfer.js';

const program = new Command()
  .name('manifold')
  .description('Manifold: a self-hosted container registry built around multi-architecture images')
  .version('0.1.0')
  .showHelpAfterError();
registerServe(program);
registerTransfer(program);
registerManifest(program);
registerLogin(program);
registerMetadataCommands(program);
registerAccess(program);
registerImport(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`manifold: ${(e as Error).message}\n`);
  process.exit(1);
});
