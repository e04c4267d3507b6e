/** `manifold push`, `pull` and `copy`: one copy engine between interchangeable sources and sinks. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { copyImage, type CopyResult, type PlatformSelection } from '../client/copy.js';
import { formatLocation, openSink, openSource, parseLocation, sinkTag, type ImageLocation } from '../client/transports.js';
import { formatPlatform, hostPlatform } from '../oci/platform.js';
import { addTransferOptions, clientsFrom, concurrencyFrom, platformsFrom, type TransferFlags } from './common.js';
import { formatBytes, progressView } from './progress.js';

/**
 * `--all-platforms` copies everything; one `--platform` on pull picks that image; otherwise
 * `--platform` keeps just those platforms under a reduced index.
 */
function selection(flags: TransferFlags, defaultMode: 'host' | 'all'): PlatformSelection {
  const platforms = platformsFrom(flags);
  if (flags.allPlatforms) {
    if (platforms.length) throw new Error('--all-platforms and --platform exclude each other');
    return { mode: 'all' };
  }
  if (platforms.length === 0) return defaultMode === 'all' ? { mode: 'all' } : { mode: 'one', platform: hostPlatform() };
  if (platforms.length === 1 && defaultMode === 'host') return { mode: 'one', platform: platforms[0]! };
  return { mode: 'subset', platforms };
}

async function transfer(from: ImageLocation, to: ImageLocation, flags: TransferFlags, platforms: PlatformSelection): Promise<CopyResult> {
  // A docker archive holds one image: one --platform means that image, not a one-entry index.
  if (to.transport === 'docker-archive' && platforms.mode === 'subset' && platforms.platforms.length === 1) {
    platforms = { mode: 'one', platform: platforms.platforms[0]! };
  }
  const clients = clientsFrom(flags);
  const view = progressView({ quiet: flags.quiet });
  let result: CopyResult;
  try {
    result = await copyImage(openSource(from, clients), openSink(to, clients), {
      platforms,
      tag: sinkTag(to),
      concurrency: concurrencyFrom(flags),
      onEvent: (e) => view.onEvent(e),
    });
  } finally {
    view.finish();
  }
  if (!flags.quiet) {
    const b = result.blobs;
    const what = result.platforms.length ? ` (${result.platforms.join(', ')})` : '';
    process.stderr.write(
      `${formatLocation(from)} → ${formatLocation(to)}${what}: ${b.transferred} blob(s) copied (${formatBytes(b.bytes)}), ${b.mounted} mounted, ${b.existing} already there\n`,
    );
    if (result.rewritten && platforms.mode === 'subset') {
      process.stderr.write(`note: only ${result.platforms.join(', ')} copied, under a reduced index whose digest differs from the source's\n`);
    }
  }
  process.stdout.write(`${result.digest}\n`);
  return result;
}

/** Where `pull` writes when no destination is given: an OCI layout named after the repository. */
function defaultPullDestination(from: ImageLocation): ImageLocation {
  if (from.transport !== 'registry') throw new Error('pull needs a DESTINATION when the source is not a registry');
  return { transport: 'oci', dir: basename(from.ref.repository), tag: from.ref.tag ?? 'latest' };
}

export function registerTransfer(program: Command): void {
  addTransferOptions(
    program
      .command('pull')
      .description('Pull an image from a registry into an OCI layout or docker archive, picking the variant for this machine')
      .argument('<reference>', 'image to pull: HOST/REPO[:TAG|@DIGEST] (or oci:…, docker-archive:…)')
      .argument('[destination]', 'oci:DIR[:TAG] or docker-archive:FILE[:REPO:TAG] (default: oci:<repository name>:<tag>)'),
    `platform to pull (default: this machine, ${formatPlatform(hostPlatform())}); repeat to keep several under a reduced index`,
  )
    .addHelpText(
      'after',
      '\nExamples:\n  manifold pull 127.0.0.1:5000/app:1.0\n  manifold pull --platform linux/arm64 127.0.0.1:5000/app:1.0 oci:./app-arm64:1.0\n  manifold pull --all-platforms 127.0.0.1:5000/app:1.0 oci:./app\n  manifold pull 127.0.0.1:5000/app:1.0 docker-archive:app.tar',
    )
    .action(async (reference: string, destination: string | undefined, flags: TransferFlags) => {
      const from = parseLocation(reference);
      let to = destination ? parseLocation(destination) : defaultPullDestination(from);
      if (to.transport === 'docker-archive' && !to.ref && from.transport === 'registry') {
        // docker load then tags the image as it was named.
        to = { ...to, ref: `${from.ref.registry}/${from.ref.repository}:${from.ref.tag ?? 'latest'}` };
      }
      await transfer(from, to, flags, selection(flags, 'host'));
    });

  addTransferOptions(
    program
      .command('push')
      .description('Push an image or multi-platform index from an OCI layout or docker archive to a registry')
      .argument('<source>', 'oci:DIR[:TAG] or docker-archive:FILE[:REPO:TAG]')
      .argument('<reference>', 'destination HOST/REPO[:TAG]'),
    'push only these platforms of an index, under a reduced index (repeatable)',
  )
    .addHelpText('after', '\nExamples:\n  manifold push oci:./app:1.0 127.0.0.1:5000/app:1.0\n  manifold push docker-archive:app.tar 127.0.0.1:5000/app:1.0')
    .action(async (source: string, reference: string, flags: TransferFlags) => {
      const to = parseLocation(reference);
      if (to.transport !== 'registry') throw new Error(`push writes to a registry; to write ${reference} use manifold copy`);
      await transfer(parseLocation(source), to, flags, selection(flags, 'all'));
    });

  addTransferOptions(
    program
      .command('copy')
      .description('Copy an image between any two of: a registry, an OCI layout, a docker archive')
      .argument('<source>', 'HOST/REPO[:TAG|@DIGEST], docker://…, oci:DIR[:TAG] or docker-archive:FILE')
      .argument('<destination>', 'same forms as the source'),
    'copy only these platforms of an index, under a reduced index (repeatable)',
  )
    .addHelpText('after', '\nExamples:\n  manifold copy 127.0.0.1:5000/app:1.0 127.0.0.1:5000/app:stable\n  manifold copy registry.example/app:1.0 127.0.0.1:5000/mirror/app:1.0 --platform linux/amd64 --platform linux/arm64')
    .action(async (source: string, destination: string, flags: TransferFlags) => {
      await transfer(parseLocation(source), parseLocation(destination), flags, selection(flags, 'all'));
    });
}
