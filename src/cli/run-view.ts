/**
 * What `manifold run` shows while steps run: on a terminal, one live status line per step below
 * the scrolling output; elsewhere, every output line prefixed with its step id and one line per
 * status change. Then a summary table: step, status, duration, images produced.
 */
import type { StepOutcome, StepStatus } from '../tasks/scheduler.js';

const SYMBOL: Record<StepStatus, string> = { waiting: '·', running: '▶', succeeded: '✓', failed: '✗', skipped: '-', cancelled: '■' };

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

export interface RunView {
  status(o: StepOutcome): void;
  log(id: string, line: string): void;
  finish(): void;
}

export function runView(ids: string[], out: NodeJS.WriteStream = process.stderr): RunView {
  return out.isTTY ? new LiveView(ids, out) : new PlainView(ids, out);
}

function statusWord(o: StepOutcome): string {
  if (o.status === 'failed' && o.ignored) return 'failed (ignored)';
  return o.status;
}

class PlainView implements RunView {
  private readonly width: number;
  constructor(
    ids: string[],
    private readonly out: NodeJS.WritableStream,
  ) {
    this.width = Math.max(...ids.map((i) => i.length));
  }

  private prefix(id: string): string {
    return `[${id}]`.padEnd(this.width + 3);
  }

  status(o: StepOutcome): void {
    if (o.status === 'waiting') return;
    const extra = o.status === 'running' ? '' : ` in ${formatDuration(o.durationMs)}${o.error ? `: ${o.error}` : ''}`;
    if (o.status === 'skipped') this.out.write(`${this.prefix(o.id)}skipped\n`);
    else if (o.status === 'running' && o.attempts === 0) this.out.write(`${this.prefix(o.id)}started\n`);
    else if (o.status !== 'running') this.out.write(`${this.prefix(o.id)}${statusWord(o)}${extra}\n`);
  }

  log(id: string, line: string): void {
    this.out.write(`${this.prefix(id)}${line}\n`);
  }

  finish(): void {}
}

/** The status block is redrawn in place at most ten times a second; output lines scroll above it. */
class LiveView implements RunView {
  private readonly rows = new Map<string, { o: StepOutcome; last: string; started: number }>();
  private readonly pending: string[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private readonly width: number;

  constructor(
    ids: string[],
    private readonly out: NodeJS.WriteStream,
  ) {
    for (const id of ids) this.rows.set(id, { o: { id, status: 'waiting', durationMs: 0, attempts: 0, images: [] }, last: '', started: 0 });
    this.width = Math.max(...ids.map((i) => i.length));
    // Running steps' clocks tick even when they print nothing.
    this.ticker = setInterval(() => this.schedule(), 500);
    this.ticker.unref();
  }

  status(o: StepOutcome): void {
    const row = this.rows.get(o.id)!;
    if (o.status === 'running' && row.o.status !== 'running') row.started = Date.now();
    row.o = o;
    if (o.error && o.status !== 'running') row.last = o.error;
    this.schedule();
  }

  log(id: string, line: string): void {
    this.rows.get(id)!.last = line;
    this.pending.push(`\x1b[2m${id.padEnd(this.width)}\x1b[0m  ${line}`);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
  }

  private draw(): void {
    const cols = this.out.columns || 100;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const l of this.pending.splice(0)) text += `\x1b[2K${l}\n`;
    const lines = [...this.rows.values()].map(({ o, last, started }) => {
      const ms = o.status === 'running' ? Date.now() - started : o.durationMs;
      const time = o.status === 'waiting' || o.status === 'skipped' ? '' : formatDuration(ms);
      return `${SYMBOL[o.status]} ${o.id.padEnd(this.width)}  ${statusWord(o).padEnd(16)} ${time.padStart(7)}  ${last}`.slice(0, cols - 1);
    });
    for (const l of lines) text += `\x1b[2K${l}\n`;
    this.drawn = lines.length;
    this.out.write(text);
  }

  finish(): void {
    clearInterval(this.ticker);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }
}

/** The table printed when the run ends. */
export function summaryTable(outcomes: StepOutcome[]): string {
  const rows: string[][] = [['STEP', 'STATUS', 'DURATION', 'IMAGES']];
  for (const o of outcomes) {
    const images = o.images.map((i) => `${i.action} ${i.reference}@${i.digest}${i.platforms?.length ? ` (${i.platforms.join(', ')})` : ''}`);
    const time = o.status === 'skipped' ? '' : formatDuration(o.durationMs);
    rows.push([o.id, statusWord(o) + (o.attempts > 1 ? ` (${o.attempts} runs)` : ''), time, images[0] ?? '']);
    for (const more of images.slice(1)) rows.push(['', '', '', more]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}
