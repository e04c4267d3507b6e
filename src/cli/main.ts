import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`manifold: ${(e as Error).message}\n`);
    process.exit(1);
  });
