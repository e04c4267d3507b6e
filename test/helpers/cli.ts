import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'manifold.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `manifold` binary (built dist/) with its own throwaway config directories,
 * so local manifest lists and logins never touch the user's.
 */
export class Cli {
  private constructor(readonly home: string) {}

  static async create(): Promise<Cli> {
    const home = await mkdtemp(join(tmpdir(), 'manifold-cli-'));
    await writeFile(join(home, 'config.json'), '{}');
    return new Cli(home);
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_CONFIG: this.home, MANIFOLD_CONFIG_DIR: join(this.home, 'manifold') };
  }

  run(args: string[], options: { input?: string; cwd?: string } = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: this.env, cwd: options.cwd ?? this.home, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(options.input ?? '');
    });
  }

  /** Runs and expects success; the error carries stderr. */
  async ok(args: string[], options: { input?: string; cwd?: string } = {}): Promise<CliResult> {
    const r = await this.run(args, options);
    if (r.code !== 0) throw new Error(`manifold ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r;
  }

  /** Runs and expects failure with one clear `manifold: …` line. */
  async fails(args: string[], options: { input?: string } = {}): Promise<string> {
    const r = await this.run(args, options);
    if (r.code === 0) throw new Error(`manifold ${args.join(' ')} succeeded but should have failed: ${r.stdout}`);
    const lines = r.stderr.trim().split('\n');
    const last = lines[lines.length - 1]!;
    if (!last.startsWith('manifold: ')) throw new Error(`unexpected error output: ${r.stderr}`);
    return last;
  }

  async dispose(): Promise<void> {
    await rm(this.home, { recursive: true, force: true });
  }
}
