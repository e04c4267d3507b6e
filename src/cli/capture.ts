/**
 * Captures what a command writes to process.stdout/stderr while it runs in-process for a task
 * step, per asynchronous context (AsyncLocalStorage), so parallel steps each get their own
 * output and everything else in the process writes to the terminal as usual.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

type Sink = (text: string) => void;
const storage = new AsyncLocalStorage<{ stdout: Sink; stderr: Sink }>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const original = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const capture = storage.getStore();
      if (!capture) return original(chunk, ...rest);
      capture[name](typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof stream.write;
  }
}

/** True inside a captured command (progress output then uses plain lines, never a TTY view). */
export function isCaptured(): boolean {
  return storage.getStore() !== undefined;
}

/** Runs `fn` with its stdout and stderr delivered to `onLine`, one complete line at a time. */
export async function withCapturedLines<T>(onLine: (line: string, stream: 'stdout' | 'stderr') => void, fn: () => Promise<T>): Promise<T> {
  install();
  const partial = { stdout: '', stderr: '' };
  const sink = (name: 'stdout' | 'stderr') => (text: string) => {
    const lines = (partial[name] + text).split('\n');
    partial[name] = lines.pop()!;
    // The receiver may itself write to the terminal: it runs outside the capture.
    storage.exit(() => {
      for (const l of lines) onLine(l, name);
    });
  };
  try {
    return await storage.run({ stdout: sink('stdout'), stderr: sink('stderr') }, fn);
  } finally {
    for (const name of ['stdout', 'stderr'] as const) if (partial[name]) storage.exit(() => onLine(partial[name], name));
  }
}
