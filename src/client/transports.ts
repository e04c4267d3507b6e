/**
 * Where images come from and go to, written as skopeo writes them:
 * `docker://HOST/REPO:TAG` or a plain reference (a registry), `oci:DIR[:TAG]` (an OCI image
 * layout directory), `docker-archive:FILE[:REPO:TAG]` (a `docker save` tarball).
 */
import { isValidTag } from '../oci/names.js';
import { formatReference, parseReference, type ImageReference } from '../oci/reference.js';
import type { Credentials } from './credentials.js';
import { DockerArchiveSink, DockerArchiveSource } from './docker-archive.js';
import type { ImageSink, ImageSource } from './image.js';
import { OciLayoutSink, OciLayoutSource } from './oci-layout.js';
import { RegistryClient } from './registry-client.js';
import { RemoteSink, RemoteSource } from './remote.js';

export type ImageLocation =
  | { transport: 'registry'; ref: ImageReference }
  | { transport: 'oci'; dir: string; tag?: string }
  | { transport: 'docker-archive'; file: string; ref?: string };

export function parseLocation(text: string): ImageLocation {
  if (text.startsWith('oci:')) {
    const rest = text.slice(4);
    const colon = rest.lastIndexOf(':');
    const tag = colon > 0 ? rest.slice(colon + 1) : '';
    if (tag && !tag.includes('/') && isValidTag(tag)) return { transport: 'oci', dir: rest.slice(0, colon), tag };
    if (!rest) throw new Error('oci: needs a directory, as in oci:DIR[:TAG]');
    return { transport: 'oci', dir: rest };
  }
  if (text.startsWith('docker-archive:')) {
    const rest = text.slice('docker-archive:'.length);
    const colon = rest.indexOf(':');
    if (!rest || colon === 0) throw new Error('docker-archive: needs a file, as in docker-archive:FILE[:REPO:TAG]');
    return colon > 0 ? { transport: 'docker-archive', file: rest.slice(0, colon), ref: rest.slice(colon + 1) } : { transport: 'docker-archive', file: rest };
  }
  const other = /^(dir|oci-archive|docker-daemon|containers-storage):/.exec(text);
  if (other) throw new Error(`the ${other[1]}: transport is not supported: use docker://REF, oci:DIR[:TAG] or docker-archive:FILE`);
  const ref = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  return { transport: 'registry', ref: parseReference(ref) };
}

export function formatLocation(loc: ImageLocation): string {
  switch (loc.transport) {
    case 'registry':
      return formatReference(loc.ref);
    case 'oci':
      return `oci:${loc.dir}${loc.tag ? `:${loc.tag}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${loc.file}${loc.ref ? `:${loc.ref}` : ''}`;
  }
}

export interface ConnectOptions {
  /** Use plain HTTP for these registries (loopback always is). */
  plainHttp?: boolean;
  /** Credentials for every registry involved, instead of the stored logins. */
  credentials?: Credentials;
  chunkSize?: number;
}

/** One client per registry, so a source and a sink on the same registry share tokens. */
export class Clients {
  private readonly clients = new Map<string, RegistryClient>();
  constructor(private readonly options: ConnectOptions = {}) {}

  for(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) {
      c = new RegistryClient(registry, { plainHttp: this.options.plainHttp, credentials: this.options.credentials, chunkSize: this.options.chunkSize });
      this.clients.set(registry, c);
    }
    return c;
  }
}

export function openSource(loc: ImageLocation, clients: Clients): ImageSource {
  switch (loc.transport) {
    case 'registry':
      return new RemoteSource(clients.for(loc.ref.registry), loc.ref);
    case 'oci':
      return new OciLayoutSource(loc.dir, loc.tag);
    case 'docker-archive':
      return new DockerArchiveSource(loc.file, loc.ref);
  }
}

export function openSink(loc: ImageLocation, clients: Clients): ImageSink {
  switch (loc.transport) {
    case 'registry':
      return new RemoteSink(clients.for(loc.ref.registry), loc.ref);
    case 'oci':
      return new OciLayoutSink(loc.dir, loc.tag);
    case 'docker-archive':
      return new DockerArchiveSink(loc.file, loc.ref);
  }
}

/** The tag a sink should set: its own, else none (a registry destination by digest). */
export function sinkTag(loc: ImageLocation): string {
  switch (loc.transport) {
    case 'registry':
      return loc.ref.digest ? '' : (loc.ref.tag ?? '');
    case 'oci':
      return loc.tag ?? '';
    case 'docker-archive':
      return loc.ref ?? '';
  }
}
