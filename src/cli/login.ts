/** `manifold login` / `logout`: credentials checked against the registry, kept in docker's config.json. */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { removeCredentials, saveCredentials } from '../client/credentials.js';
import { RegistryClient } from '../client/registry-client.js';
import { readStdin } from './common.js';

interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  plainHttp?: boolean;
  insecure?: boolean;
}

/** Asks on the terminal; the password is not echoed. */
async function prompt(question: string, secret: boolean): Promise<string> {
  if (!process.stdin.isTTY) throw new Error(`no ${secret ? 'password' : 'username'} given: use ${secret ? '--password-stdin or -p' : '-u'}`);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (secret) {
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput.bind(rl);
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => write(s.startsWith(question) ? s : '');
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    if (secret) process.stderr.write('\n');
  }
}

/** Docker's names for Docker Hub all mean the same registry. */
function registryName(host: string): string {
  const h = host.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return ['index.docker.io', 'registry-1.docker.io'].includes(h) ? 'docker.io' : h;
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description("Log in to a registry; the login is stored in docker's config.json ($DOCKER_CONFIG) and shared with docker")
    .argument('<registry>', 'registry host[:port]')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin: arguments show up in process lists)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--plain-http', 'speak plain HTTP (loopback registries always do)')
    .option('--insecure', 'same as --plain-http')
    .addHelpText('after', '\nExample:\n  echo "$PASSWORD" | manifold login 127.0.0.1:5000 -u alice --password-stdin')
    .action(async (host: string, flags: LoginFlags) => {
      if (flags.password !== undefined && flags.passwordStdin) throw new Error('--password and --password-stdin exclude each other');
      const registry = registryName(host);
      const username = flags.username ?? (await prompt('Username: ', false));
      const password = flags.passwordStdin ? await readStdin() : (flags.password ?? (await prompt('Password: ', true)));
      if (!username) throw new Error('a user name is required');
      const credentials = { username, password };
      // Checked before it is stored: follows the registry's Basic or Bearer challenge with them.
      await new RegistryClient(registry, { plainHttp: flags.plainHttp || flags.insecure, credentials, attempts: 2 }).checkAccess();
      const path = await saveCredentials(registry, credentials);
      process.stderr.write(`Credentials stored in ${path}\n`);
      process.stdout.write('Login Succeeded\n');
    });

  program
    .command('logout')
    .description('Remove the stored login for a registry')
    .argument('<registry>', 'registry host[:port]')
    .addHelpText('after', '\nExample:\n  manifold logout 127.0.0.1:5000')
    .action(async (host: string) => {
      const registry = registryName(host);
      if (await removeCredentials(registry)) process.stdout.write(`Removing login credentials for ${registry}\n`);
      else process.stdout.write(`Not logged in to ${registry}\n`);
    });
}
