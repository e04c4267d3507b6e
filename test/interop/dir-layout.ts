import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Blob, TestImage } from '../helpers/images.js';

/**
 * The `dir:` transport of containers/image (skopeo), version 1.1: `manifest.json` holds the top
 * manifest (an image, or a list/index), `<hex>.manifest.json` each instance of a list, `<hex>`
 * each blob. Unlike skopeo's `oci:` transport, which only finds OCI manifests and indexes in
 * index.json, it carries Docker schema 2 manifests and manifest lists byte for byte.
 */

const VERSION = 'Directory Transport Version: 1.1\n';

const hex = (digest: string) => digest.slice(digest.indexOf(':') + 1);

/** Writes `images` (and `index` over them, if given) as a `dir:` image. */
export async function writeDirLayout(dir: string, images: TestImage[], index?: Blob): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'version'), VERSION);
  for (const img of images) {
    for (const b of [img.config, ...img.layers]) await writeFile(join(dir, hex(b.digest)), b.bytes);
    if (index) await writeFile(join(dir, `${hex(img.manifest.digest)}.manifest.json`), img.manifest.bytes);
  }
  await writeFile(join(dir, 'manifest.json'), (index ?? images[0]!.manifest).bytes);
}

/** Reads back what skopeo wrote to a `dir:` destination (undefined where a file is missing). */
export function readDirLayout(dir: string) {
  const read = (name: string) => readFile(join(dir, name)).catch(() => undefined);
  return {
    version: () => read('version').then((b) => b?.toString()),
    /** The top manifest, or with a digest, that instance of the list. */
    manifest: (instance?: string) => read(instance ? `${hex(instance)}.manifest.json` : 'manifest.json'),
    blob: (digest: string) => read(hex(digest)),
  };
}
