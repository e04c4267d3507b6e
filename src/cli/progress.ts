/**
 * Shows a copy's progress: one live bar per blob on a terminal, plain lines otherwise (logs, CI),
 * nothing with --quiet. Output goes to stderr so stdout stays clean for digests and JSON.
 */
import type { CopyEvent } from '../client/copy.js';
import { isCaptured } from './capture.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

const STATE_WORDS: Record<string, string> = {
  waiting: 'waiting',
  exists: 'already there',
  mounted: 'mounted',
  transferring: 'copying',
  done: 'done',
  failed: 'failed',
};

interface Row {
  digest: string;
  size: number;
  state: string;
  bytes: number;
}

export interface ProgressView {
  onEvent(e: CopyEvent): void;
  /** Draws the final state and stops redrawing. */
  finish(): void;
}

export function progressView(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressView {
  const out = options.stream ?? process.stderr;
  if (options.quiet) return { onEvent() {}, finish() {} };
  // Output captured for a task step is shown line by line by the run's own view.
  return out.isTTY && !isCaptured() ? new TerminalView(out) : new LineView(out);
}

/** Non-TTY: one line when a blob starts and when it ends, and one per manifest. */
class LineView implements ProgressView {
  private readonly started = new Set<string>();
  constructor(private readonly out: NodeJS.WritableStream) {}

  onEvent(e: CopyEvent): void {
    if (e.type === 'note') this.out.write(`${e.message}\n`);
    else if (e.type === 'manifest') this.out.write(`manifest ${e.digest}${e.platform ? ` (${e.platform})` : ''} written\n`);
    else if (e.state === 'transferring') {
      if (!this.started.has(e.digest)) {
        this.started.add(e.digest);
        this.out.write(`blob ${short(e.digest)} copying ${formatBytes(e.size)}\n`);
      }
    } else if (e.state !== 'waiting') {
      this.out.write(`blob ${short(e.digest)} ${STATE_WORDS[e.state]} (${formatBytes(e.size)})\n`);
    }
  }

  finish(): void {}
}

/** TTY: a block of bars redrawn in place, at most ten times a second. */
class TerminalView implements ProgressView {
  private readonly rows = new Map<string, Row>();
  private readonly notes: string[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {}

  onEvent(e: CopyEvent): void {
    if (e.type === 'blob') this.rows.set(e.digest, { digest: e.digest, size: e.size, state: e.state, bytes: e.bytes });
    else if (e.type === 'note') this.notes.push(e.message);
    else this.notes.push(`manifest ${short(e.digest)}${e.platform ? ` (${e.platform})` : ''} written`);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
  }

  private bar(r: Row): string {
    const width = 24;
    const fraction = r.size > 0 ? Math.min(1, r.bytes / r.size) : r.state === 'waiting' ? 0 : 1;
    const filled = Math.round(fraction * width);
    return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (fraction < 1 ? '>' : '=') : ''}${' '.repeat(width - filled)}]`;
  }

  private draw(): void {
    const cols = this.out.columns || 100;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    // Notes scroll above the block of bars; bars are rewritten in place.
    for (const n of this.notes.splice(0)) text += `\x1b[2K${n}\n`;
    const lines = [...this.rows.values()].map((r) =>
      `${short(r.digest)}  ${this.bar(r)} ${formatBytes(r.bytes).padStart(10)} / ${formatBytes(r.size).padEnd(10)} ${STATE_WORDS[r.state]}`.slice(0, cols - 1),
    );
    for (const l of lines) text += `\x1b[2K${l}\n`;
    this.drawn = lines.length;
    this.out.write(text);
  }

  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }
}
