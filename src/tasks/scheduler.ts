/**
 * Runs a task's steps as a dependency graph: each step starts once every step it waits for has
 * succeeded (or failed with `ignoreErrors`), so independent steps run in parallel. Per step:
 * `startDelay`, a `timeout` per attempt, `retries` with `retryDelay` between them, `repeat` more
 * runs after a success. The first real failure (or Ctrl-C) cancels the steps still running and
 * skips the ones not started, as acb does.
 */
import { dependencies } from './graph.js';
import type { Step } from './schema.js';

export type StepStatus = 'waiting' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** An image a step made: built into the run's store, pushed, or a manifest list pushed. */
export interface ProducedImage {
  reference: string;
  digest: string;
  action: 'built' | 'pushed' | 'manifest';
  platforms?: string[];
}

export interface StepOutcome {
  id: string;
  status: StepStatus;
  /** Milliseconds from the step's start (after its startDelay) to its end. */
  durationMs: number;
  attempts: number;
  error?: string;
  /** A failure that `ignoreErrors` let the run survive. */
  ignored?: boolean;
  images: ProducedImage[];
}

export interface StepIO {
  /** One line of the step's output. */
  log(line: string): void;
  produced(image: ProducedImage): void;
  /** Aborted on timeout, on another step's failure and on Ctrl-C. */
  signal: AbortSignal;
}

export type Executor = (step: Step, io: StepIO) => Promise<void>;

export interface SchedulerEvents {
  onStatus?(outcome: StepOutcome): void;
  onLog?(id: string, line: string): void;
}

export class StepTimeoutError extends Error {}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects as soon as `signal` aborts, so a step that cannot be interrupted is at least abandoned. */
function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

export async function runSteps(steps: Step[], execute: Executor, events: SchedulerEvents = {}, external?: AbortSignal): Promise<StepOutcome[]> {
  const deps = dependencies(steps);
  const outcomes = new Map<string, StepOutcome>(steps.map((s) => [s.id, { id: s.id, status: 'waiting', durationMs: 0, attempts: 0, images: [] }]));
  const stopAll = new AbortController();
  const onExternal = () => stopAll.abort(new Error('interrupted'));
  external?.addEventListener('abort', onExternal, { once: true });
  if (external?.aborted) onExternal();
  const emit = (o: StepOutcome) => events.onStatus?.({ ...o, images: [...o.images] });

  const settled = (id: string) => {
    const o = outcomes.get(id)!;
    return o.status === 'succeeded' || (o.status === 'failed' && o.ignored === true);
  };
  const running = new Map<string, Promise<void>>();

  const runOne = async (step: Step): Promise<void> => {
    const o = outcomes.get(step.id)!;
    o.status = 'running';
    emit(o);
    const io = (signal: AbortSignal): StepIO => ({
      log: (line) => events.onLog?.(step.id, line),
      produced: (img) => {
        o.images.push(img);
        emit(o);
      },
      signal,
    });
    let started = Date.now();
    try {
      if (step.startDelay > 0) await delay(step.startDelay * 1000, stopAll.signal);
      started = Date.now();
      for (let run = 0; run <= step.repeat; run++) {
        for (let attempt = 0; ; attempt++) {
          o.attempts++;
          const timeout = new AbortController();
          const timer = setTimeout(() => timeout.abort(new StepTimeoutError(`timed out after ${step.timeout}s`)), step.timeout * 1000);
          const signal = AbortSignal.any([stopAll.signal, timeout.signal]);
          try {
            await Promise.race([execute(step, io(signal)), whenAborted(signal)]);
            break;
          } catch (e) {
            if (stopAll.signal.aborted || attempt >= step.retries) throw e;
            events.onLog?.(step.id, `attempt ${attempt + 1} failed: ${(e as Error).message}; retrying in ${step.retryDelay}s (${step.retries - attempt} left)`);
            await delay(step.retryDelay * 1000, stopAll.signal);
          } finally {
            clearTimeout(timer);
          }
        }
      }
      o.status = 'succeeded';
    } catch (e) {
      o.error = (e as Error).message;
      if (stopAll.signal.aborted && !(e instanceof StepTimeoutError)) {
        o.status = 'cancelled';
      } else {
        o.status = 'failed';
        if (step.ignoreErrors) o.ignored = true;
        else stopAll.abort(new Error(`step ${step.id} failed`));
      }
    } finally {
      o.durationMs = Date.now() - started;
      emit(o);
    }
  };

  for (;;) {
    if (!stopAll.signal.aborted) {
      for (const step of steps) {
        const o = outcomes.get(step.id)!;
        if (o.status !== 'waiting' || running.has(step.id)) continue;
        if (deps.get(step.id)!.every(settled)) {
          running.set(step.id, runOne(step).finally(() => running.delete(step.id)));
        }
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  external?.removeEventListener('abort', onExternal);
  // Whatever never started was skipped: a step it waited for failed, or the run was stopped.
  for (const o of outcomes.values()) {
    if (o.status === 'waiting') {
      o.status = 'skipped';
      emit(o);
    }
  }
  return steps.map((s) => outcomes.get(s.id)!);
}
