import { parseDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { bareMediaType, INDEX_TYPES, MediaType, MANIFEST_TYPES } from './mediatypes.js';
import type { Platform } from './platform.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
}

/** What the registry needs to know about a manifest, read once at push time. */
export interface ParsedManifest {
  kind: 'image' | 'index';
  mediaType: string;
  artifactType?: string;
  config?: Descriptor;
  layers: Descriptor[];
  /** Children of an index. */
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkStringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(`${where} must be a map of strings`);
  }
  return v as Record<string, string>;
}

function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where} must be an object`);
  const { mediaType, digest, size, urls, annotations, artifactType, platform } = v;
  if (typeof mediaType !== 'string' || mediaType.length === 0) throw invalid(`${where}.mediaType must be a string`);
  if (typeof digest !== 'string') throw invalid(`${where}.digest must be a string`);
  try {
    parseDigest(digest);
  } catch (e) {
    throw invalid(`${where}.digest: ${(e as Error).message}`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (urls !== undefined) {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) throw invalid(`${where}.urls must be strings`);
    d.urls = urls as string[];
  }
  const ann = checkStringMap(annotations, `${where}.annotations`);
  if (ann) d.annotations = ann;
  if (artifactType !== undefined) {
    if (typeof artifactType !== 'string') throw invalid(`${where}.artifactType must be a string`);
    d.artifactType = artifactType;
  }
  if (platform !== undefined) {
    if (!isObject(platform) || typeof platform.os !== 'string' || typeof platform.architecture !== 'string') {
      throw invalid(`${where}.platform must have string os and architecture`);
    }
    const p: Platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === 'string') p.variant = platform.variant;
    if (typeof platform['os.version'] === 'string') p.osVersion = platform['os.version'];
    if (Array.isArray(platform['os.features'])) p.osFeatures = platform['os.features'].map(String);
    d.platform = p;
  }
  return d;
}

function parseDescriptorList(v: unknown, where: string): Descriptor[] {
  if (!Array.isArray(v)) throw invalid(`${where} must be an array`);
  return v.map((x, i) => parseDescriptor(x, `${where}[${i}]`));
}

/**
 * Parses manifest bytes as pushed. `contentType` is the request's Content-Type (may be empty);
 * when both it and the body's `mediaType` are present they must agree.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid(`manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');

  const headerType = contentType ? bareMediaType(contentType) : '';
  const bodyType = doc.mediaType;
  if (bodyType !== undefined && typeof bodyType !== 'string') throw invalid('mediaType must be a string');
  if (bodyType === MediaType.DockerSchema1 || bodyType === MediaType.DockerSchema1Signed || doc.schemaVersion === 1) {
    throw invalid('Docker schema 1 manifests are not supported; push a schema 2 or OCI manifest');
  }
  let mediaType: string;
  if (bodyType) {
    if (headerType && MANIFEST_TYPES.has(headerType) && headerType !== bodyType) {
      throw invalid(`Content-Type ${headerType} does not match the manifest's mediaType ${bodyType}`);
    }
    mediaType = bodyType;
  } else if (headerType && MANIFEST_TYPES.has(headerType)) {
    mediaType = headerType;
  } else if (Array.isArray(doc.manifests)) {
    mediaType = MediaType.OciIndex;
  } else if (doc.config !== undefined) {
    mediaType = MediaType.OciManifest;
  } else {
    throw invalid('cannot tell the manifest type: no mediaType, no usable Content-Type');
  }
  if (!MANIFEST_TYPES.has(mediaType)) throw invalid(`unsupported manifest media type: ${mediaType}`);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');

  const annotations = checkStringMap(doc.annotations, 'annotations');
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, 'subject');
  let artifactType: string | undefined;
  if (doc.artifactType !== undefined) {
    if (typeof doc.artifactType !== 'string') throw invalid('artifactType must be a string');
    // An empty artifactType counts as absent (the referrers API then reports config.mediaType).
    artifactType = doc.artifactType || undefined;
  }
  if (mediaType.startsWith('application/vnd.docker.') && (subject || artifactType)) {
    throw invalid('subject and artifactType are OCI fields; Docker manifests cannot carry them');
  }

  if (INDEX_TYPES.has(mediaType)) {
    if (doc.config !== undefined || doc.layers !== undefined) {
      throw invalid(`${mediaType} must not have config or layers`);
    }
    const manifests = parseDescriptorList(doc.manifests, 'manifests');
    return { kind: 'index', mediaType, artifactType, layers: [], manifests, subject, annotations };
  }
  if (doc.manifests !== undefined) throw invalid(`${mediaType} must not have manifests`);
  const config = parseDescriptor(doc.config, 'config');
  const layers = doc.layers === undefined && mediaType === MediaType.OciManifest ? [] : parseDescriptorList(doc.layers, 'layers');
  if (mediaType === MediaType.OciManifest && config.mediaType === MediaType.OciEmpty && !artifactType) {
    throw invalid('artifactType is required when config.mediaType is the empty descriptor');
  }
  return { kind: 'image', mediaType, artifactType, config, layers, manifests: [], subject, annotations };
}
