import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a real third-party tool; a non-zero exit throws with the tool's stderr. */
export async function tool(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    return (await run(cmd, args, { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/** skopeo against plain-HTTP loopback registries (TLS verification off lets it fall back to HTTP). */
export function skopeo(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const [verb, ...rest] = args;
  const tls = verb === 'copy' ? ['--src-tls-verify=false', '--dest-tls-verify=false'] : ['--tls-verify=false'];
  return tool('skopeo', [verb!, ...tls, ...rest], env);
}
