/**
 * Cross-architecture RUN needs the kernel to hand foreign binaries to qemu-user-static
 * (binfmt_misc). This checks for a working registration and, when there is none, says exactly
 * which commands enable it on this machine.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { hostPlatform, normalizePlatform, type Platform } from '../oci/platform.js';

const BINFMT = '/proc/sys/fs/binfmt_misc';

/** OCI architecture → the name qemu and binfmt use. */
const QEMU_ARCH: Record<string, string> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  arm: 'arm',
  '386': 'i386',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
  loong64: 'loongarch64',
};

/** True when binaries of `p` cannot run natively here (386 runs on amd64, arm on arm64). */
export function isForeign(p: Platform): boolean {
  const host = hostPlatform().architecture;
  const arch = normalizePlatform(p).architecture;
  return !(arch === host || (host === 'amd64' && arch === '386') || (host === 'arm64' && arch === 'arm'));
}

const exists = (path: string) => stat(path).then(() => true, () => false);

/** Undefined when `p`'s binaries can run here; else the instructions that make them run. */
export async function emulationProblem(p: Platform): Promise<string | undefined> {
  if (!isForeign(p)) return undefined;
  const arch = normalizePlatform(p).architecture;
  const qemu = QEMU_ARCH[arch];
  if (!qemu) return `no qemu emulator is known for ${arch}`;
  const entries = await readdir(BINFMT).catch(() => [] as string[]);
  for (const e of entries) {
    if (e === 'register' || e === 'status') continue;
    const text = await readFile(`${BINFMT}/${e}`, 'utf8').catch(() => '');
    if (text.startsWith('enabled') && new RegExp(`interpreter \\S*qemu-${qemu}(-static|-binfmt|\\b)`).test(text)) {
      // A registration without the F flag loads the interpreter lazily, which fails inside a chroot.
      if (/^flags: .*F/m.test(text)) return undefined;
      return `binfmt_misc has ${e} for ${arch} but without the F (fix-binary) flag, so it cannot work inside build containers; remove it (echo -1 > ${BINFMT}/${e}) and register it again: ${registerCommand(qemu, await confLine(qemu))}`;
    }
  }
  const steps: string[] = [];
  if (!(await exists(`/usr/bin/qemu-${qemu}-static`))) steps.push('apt-get install -y qemu-user-static');
  if (!entries.includes('register')) steps.push(`mount -t binfmt_misc binfmt_misc ${BINFMT}`);
  steps.push(registerCommand(qemu, await confLine(qemu)));
  return `RUN for ${arch} needs qemu-${qemu}-static registered in binfmt_misc, and it is not; as root run: ${steps.join(' && ')}`;
}

/** qemu-user-static's own registration line (magic and mask), from its binfmt.d file. */
async function confLine(qemu: string): Promise<string | undefined> {
  const text = await readFile(`/usr/lib/binfmt.d/qemu-${qemu}.conf`, 'utf8').catch(() => undefined);
  return text?.split('\n').find((l) => l.startsWith(':'));
}

function registerCommand(qemu: string, line: string | undefined): string {
  if (!line) return `update-binfmts --enable qemu-${qemu} (and make sure its flags include F)`;
  const fields = line.split(':');
  // :name:type:offset:magic:mask:interpreter:flags
  fields[6] = `/usr/bin/qemu-${qemu}-static`;
  fields[7] = 'F';
  return `printf '%s\\n' '${fields.join(':')}' > ${BINFMT}/register`;
}
