/**
 * Runs an external tool (buildah, podman) for a step: output is passed on line by line, the
 * process is stopped (SIGTERM, then SIGKILL) when the step is aborted, and a non-zero exit
 * becomes an error quoting the last lines it printed.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  log(line: string): void;
  signal: AbortSignal;
}

export function runProcess(cmd: string, args: string[], options: ProcessOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(options.signal.reason as Error);
    const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 5) tail.shift();
      options.log(line);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      options.signal.removeEventListener('abort', onAbort);
      reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(`${cmd} is not installed (not found on PATH)`) : e);
    });
    child.on('close', (code, sig) => {
      options.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (options.signal.aborted) reject(options.signal.reason as Error);
      else if (code === 0) resolve();
      else reject(new Error(`${cmd} exited with ${code ?? sig}${tail.length ? `: ${tail[tail.length - 1]}` : ''}`));
    });
  });
}

/** True when `cmd` is an executable on PATH. */
export async function onPath(cmd: string): Promise<boolean> {
  const { access, constants } = await import('node:fs/promises');
  const { join } = await import('node:path');
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (await access(join(dir, cmd), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}
