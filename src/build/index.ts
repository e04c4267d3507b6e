/**
 * Builds an image for a build step with the right builder: the builtin one when the Dockerfile
 * executes nothing (no tool needed, any architecture), buildah otherwise; `--builder` forces
 * one. The image lands in the run's store under every `-t` name.
 */
import { basename } from 'node:path';
import { copyImage } from '../client/copy.js';
import { OciLayoutSink } from '../client/oci-layout.js';
import { buildWithBuildah } from './buildah.js';
import { buildBuiltin, builtinLimitation, readDockerfile } from './builtin.js';
import { parseDockerfile, targetStage } from './dockerfile.js';
import { onPath } from './process.js';
import type { BuildRequest, BuildResult, BuilderName } from './request.js';

export type { BuildRequest, BuildResult, BuilderName };

export async function buildImage(request: BuildRequest, step: string): Promise<BuildResult> {
  if (request.tags.length === 0) throw new Error('a build step needs at least one -t NAME: a push step pushes images by name');
  const file = basename(request.dockerfile);
  const df = parseDockerfile(await readDockerfile(request.dockerfile), file);
  let builder = request.builder;
  if (builder === 'auto') {
    const limitation = builtinLimitation(df, targetStage(df, request.target, file), file);
    if (!limitation) builder = 'builtin';
    else if (await onPath('buildah')) {
      builder = 'buildah';
      request.log(`using buildah (${limitation})`);
    } else {
      throw new Error(`${limitation}, and buildah is not installed (apt-get install buildah); the builtin builder takes FROM, COPY, ADD, ENV, ARG, LABEL, WORKDIR, USER, EXPOSE, CMD, ENTRYPOINT`);
    }
  }
  const result = builder === 'builtin' ? await buildBuiltin(request, df) : await buildWithBuildah(request, df);
  const first = request.tags[0]!;
  for (const other of request.tags.slice(1)) {
    const { dir, tag } = request.store.layout(other);
    await copyImage(request.store.source(first), new OciLayoutSink(dir, tag), { platforms: { mode: 'all' }, tag });
  }
  for (const reference of request.tags) request.store.record({ reference, digest: result.digest, platform: result.platform, step });
  return result;
}
