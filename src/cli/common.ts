/** Options and plumbing the image-moving verbs share. */
import { Command, Option } from 'commander';
import type { Credentials } from '../client/credentials.js';
import { Clients } from '../client/transports.js';
import { parsePlatform, type Platform } from '../oci/platform.js';

export interface ConnectionFlags {
  plainHttp?: boolean;
  insecure?: boolean;
  creds?: string;
}

export interface TransferFlags extends ConnectionFlags {
  platform?: string[];
  allPlatforms?: boolean;
  concurrency?: string;
  quiet?: boolean;
  chunkSize?: string;
}

/** Commander's way to take a repeatable option as a list. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--plain-http', 'speak plain HTTP to the registry (loopback registries always do)')
    .option('--insecure', 'same as --plain-http (docker\'s name for it)')
    .option('--creds <user:password>', 'credentials for the registries involved, instead of the stored logins');
}

export function addTransferOptions(cmd: Command, platformHelp: string): Command {
  return addConnectionOptions(cmd)
    .option('--platform <os/arch[/variant]>', platformHelp, collect)
    .option('--all-platforms', 'copy every platform of a multi-platform image (and the index itself)')
    .option('--concurrency <n>', 'blobs transferred at once', '4')
    .addOption(new Option('--chunk-size <bytes>', 'blobs larger than this are uploaded in resumable chunks of this size').default('33554432').hideHelp())
    .option('-q, --quiet', 'print only the resulting digest');
}

export function parseCreds(text: string | undefined): Credentials | undefined {
  if (text === undefined) return undefined;
  const colon = text.indexOf(':');
  if (colon <= 0) throw new Error('--creds takes user:password');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function clientsFrom(flags: TransferFlags | ConnectionFlags): Clients {
  const chunk = 'chunkSize' in flags && flags.chunkSize ? Number(flags.chunkSize) : undefined;
  if (chunk !== undefined && !(Number.isSafeInteger(chunk) && chunk > 0)) throw new Error('--chunk-size must be a positive number of bytes');
  return new Clients({ plainHttp: Boolean(flags.plainHttp || flags.insecure), credentials: parseCreds(flags.creds), chunkSize: chunk });
}

export function platformsFrom(flags: TransferFlags): Platform[] {
  return (flags.platform ?? []).flatMap((p) => p.split(',')).map(parsePlatform);
}

export function concurrencyFrom(flags: TransferFlags): number {
  const n = Number(flags.concurrency ?? 4);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error('--concurrency must be an integer from 1 to 64');
  return n;
}

/** Reads a secret piped on stdin (`--password-stdin`), without the trailing newline. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
