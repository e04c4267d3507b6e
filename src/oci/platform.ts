/**
 * Platforms: parse, normalise, match and rank, following containerd's `platforms` package so
 * that the server's fallback and the CLI's pull pick the same variant a containerd client would.
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
  osFeatures?: string[];
}

/** Normalises OS, architecture and variant names the way containerd does. */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let arch = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() ?? '';
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8') variant = '';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture: arch };
  if (variant) out.variant = variant;
  if (p.osVersion) out.osVersion = p.osVersion;
  if (p.osFeatures?.length) out.osFeatures = [...p.osFeatures];
  return out;
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'macos', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'android', 'ios', 'js', 'wasip1', 'plan9', 'dragonfly']);

/** Parses `os[/arch[/variant]]` or a bare architecture; the result is normalised. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().split('/');
  if (parts.some((x) => x === '') || parts.length > 3) {
    throw new Error(`invalid platform ${JSON.stringify(spec)}: expected os/arch[/variant]`);
  }
  if (parts.length === 1) {
    const one = parts[0]!;
    if (KNOWN_OS.has(one.toLowerCase())) return normalizePlatform({ os: one, architecture: hostPlatform().architecture });
    return normalizePlatform({ os: 'linux', architecture: one });
  }
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The platform of the machine this process runs on. */
export function hostPlatform(): Platform {
  const osMap: Record<string, string> = { win32: 'windows', sunos: 'solaris' };
  const archMap: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le' };
  const os = osMap[process.platform] ?? process.platform;
  const architecture = archMap[process.arch] ?? process.arch;
  let variant: string | undefined;
  if (process.arch === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    variant = v ? `v${v}` : 'v7';
  }
  return normalizePlatform({ os, architecture, variant });
}

/**
 * The platforms a machine of `want`'s kind can run, best first (containerd's platform vector):
 * amd64 vN → amd64 vN-1…v1 → 386; arm64 → arm/v8…v5; arm/vN → arm/vN-1…v5.
 */
export function platformVector(want: Platform): Platform[] {
  const p = normalizePlatform(want);
  const base = { os: p.os, osVersion: p.osVersion };
  const vector: Platform[] = [p];
  const num = (v: string | undefined) => (v ? Number.parseInt(v.replace(/^v/, ''), 10) : NaN);
  switch (p.architecture) {
    case 'amd64': {
      const level = num(p.variant);
      if (level > 1) for (let l = level - 1; l >= 1; l--) vector.push({ ...base, architecture: 'amd64', ...(l > 1 ? { variant: `v${l}` } : {}) });
      vector.push({ ...base, architecture: '386' });
      break;
    }
    case 'arm64': {
      for (let l = 8; l >= 5; l--) vector.push({ ...base, architecture: 'arm', variant: `v${l}` });
      break;
    }
    case 'arm': {
      const level = num(p.variant);
      if (level > 5) for (let l = level - 1; l >= 5; l--) vector.push({ ...base, architecture: 'arm', variant: `v${l}` });
      break;
    }
  }
  return vector;
}

/** Windows builds are compatible when major.minor.build agree (`10.0.17763`). */
function windowsBuild(v: string | undefined): string | undefined {
  return v?.split('.').slice(0, 3).join('.');
}

function sameTarget(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/**
 * How well `have` suits a machine `want`: 0 is best, larger is worse, -1 does not run.
 * On Windows an image built for another build (os.version) does not run; a matching revision wins.
 */
export function platformRank(want: Platform, have: Platform): number {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  const vector = platformVector(w);
  const pos = vector.findIndex((c) => sameTarget(c, h));
  if (pos < 0) return -1;
  if (w.os === 'windows' && w.osVersion && h.osVersion) {
    if (windowsBuild(w.osVersion) !== windowsBuild(h.osVersion)) return -1;
    // exact revision first, then the other revisions of the same build
    return pos * 2 + (w.osVersion === h.osVersion ? 0 : 1);
  }
  return pos * 2;
}

export function platformMatches(want: Platform, have: Platform): boolean {
  return platformRank(want, have) >= 0;
}

/** Index of the best candidate for `want`, or -1. Ties go to the earlier entry, as in containerd. */
export function bestPlatformMatch(want: Platform, candidates: (Platform | undefined)[]): number {
  let best = -1;
  let bestRank = Infinity;
  candidates.forEach((c, i) => {
    if (!c) return;
    const r = platformRank(want, c);
    if (r >= 0 && r < bestRank) {
      best = i;
      bestRank = r;
    }
  });
  return best;
}

/** The platform an image config declares, or undefined when it is not JSON or names none. */
export function platformOfImageConfig(bytes: Buffer): Platform | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const os = str(doc?.os);
  const architecture = str(doc?.architecture);
  if (!os || !architecture) return undefined;
  const p: Platform = { os, architecture };
  const variant = str(doc.variant);
  const osVersion = str(doc['os.version']);
  const features = doc['os.features'];
  if (variant) p.variant = variant;
  if (osVersion) p.osVersion = osVersion;
  if (Array.isArray(features) && features.length) p.osFeatures = features.map(String);
  return p;
}
