/** Media types of the OCI image spec and Docker's image formats. */
export const MediaType = {
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.DockerManifestList, MediaType.OciIndex]);
export const IMAGE_MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaType.DockerManifest, MediaType.OciManifest]);
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([...INDEX_TYPES, ...IMAGE_MANIFEST_TYPES]);
/** Config media types whose JSON carries os/architecture/created (image configs, not artifacts). */
export const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([MediaType.DockerConfig, MediaType.OciConfig]);

export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

/** Strips parameters and whitespace from a Content-Type / Accept entry. */
export function bareMediaType(value: string): string {
  return value.split(';', 1)[0]!.trim().toLowerCase();
}

/** Artifact types of signatures (Notary Project, cosign): a manifest with such a referrer counts as signed. */
export const SIGNATURE_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.cncf.notary.signature',
  'application/vnd.dev.cosign.artifact.sig.v1+json',
]);
