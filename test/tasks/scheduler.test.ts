import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runInfo } from '../../src/tasks/context.js';
import { loadTaskText } from '../../src/tasks/load.js';
import { delay, runSteps, type StepIO } from '../../src/tasks/scheduler.js';
import type { Step } from '../../src/tasks/schema.js';

/**
 * The step graph scheduler with executors that record what happens. Each step's cmd says what
 * the executor does: `sleep MS`, `fail`, `fail-then-pass N` (fails its first N attempts).
 */
async function schedule(yaml: string, external?: AbortSignal) {
  const { task } = await loadTaskText(yaml, '.', runInfo({ registry: 'r.example', taskName: 't' }), {});
  const events: string[] = [];
  const attempts = new Map<string, number>();
  const t0 = Date.now();
  const execute = async (step: Step, io: StepIO) => {
    const [verb, arg] = step.cmd!.split(' ');
    const n = (attempts.get(step.id) ?? 0) + 1;
    attempts.set(step.id, n);
    events.push(`start ${step.id}`);
    try {
      if (verb === 'sleep') await delay(Number(arg), io.signal);
      if (verb === 'fail') throw new Error(`${step.id} broke`);
      if (verb === 'fail-then-pass' && n <= Number(arg)) throw new Error(`${step.id} attempt ${n} broke`);
      io.log(`done after ${Date.now() - t0}ms`);
    } finally {
      events.push(`end ${step.id}`);
    }
  };
  const logs: string[] = [];
  const outcomes = await runSteps(task.steps, execute, { onLog: (id, l) => logs.push(`${id}: ${l}`) }, external);
  return { outcomes, events, logs, byId: Object.fromEntries(outcomes.map((o) => [o.id, o])) };
}

describe('step scheduler', () => {
  test('when: independent steps run in parallel, joins wait for all, no when waits for the previous step', async () => {
    const { events, byId } = await schedule(
      [
        'steps:',
        '- {id: a, cmd: sleep 150, when: ["-"]}',
        '- {id: b, cmd: sleep 150, when: ["-"]}',
        '- {id: c, cmd: sleep 10, when: [a, b]}',
        '- {id: d, cmd: sleep 10}',
      ].join('\n'),
    );
    // a and b both start before either ends; c starts after both end; d after c.
    assert.deepEqual(events.slice(0, 2).sort(), ['start a', 'start b']);
    assert.ok(events.indexOf('start c') > events.indexOf('end a') && events.indexOf('start c') > events.indexOf('end b'));
    assert.ok(events.indexOf('start d') > events.indexOf('end c'));
    for (const id of ['a', 'b', 'c', 'd']) assert.equal(byId[id]!.status, 'succeeded');
  });

  test('a failure cancels running steps and skips the rest; ignoreErrors lets the run go on', async () => {
    const { byId } = await schedule(
      [
        'steps:',
        '- {id: slow, cmd: sleep 5000, when: ["-"]}',
        '- {id: tolerated, cmd: fail, when: ["-"], ignoreErrors: true}',
        '- {id: after-tolerated, cmd: sleep 50, when: [tolerated]}',
        '- {id: broken, cmd: fail, when: [after-tolerated]}',
        '- {id: never, cmd: sleep 1, when: [broken]}',
      ].join('\n'),
    );
    assert.equal(byId.tolerated!.status, 'failed');
    assert.equal(byId.tolerated!.ignored, true);
    assert.equal(byId['after-tolerated']!.status, 'succeeded');
    assert.equal(byId.broken!.status, 'failed');
    assert.equal(byId.broken!.error, 'broken broke');
    assert.equal(byId.slow!.status, 'cancelled');
    assert.ok(byId.slow!.durationMs < 4000, 'the slow step was stopped, not waited for');
    assert.equal(byId.never!.status, 'skipped');
  });

  test('timeout per attempt, retries with retryDelay, repeat after success, startDelay', async () => {
    const started = Date.now();
    const { byId, logs } = await schedule(
      [
        'steps:',
        '- {id: flaky, cmd: fail-then-pass 2, retries: 2, retryDelay: 1, when: ["-"]}',
        '- {id: hopeless, cmd: fail, retries: 1, retryDelay: 1, when: ["-"], ignoreErrors: true}',
        '- {id: slow, cmd: sleep 3000, timeout: 1, when: ["-"], ignoreErrors: true}',
        '- {id: repeated, cmd: sleep 1, repeat: 2, when: ["-"]}',
        '- {id: delayed, cmd: sleep 1, startDelay: 1, when: ["-"]}',
      ].join('\n'),
    );
    assert.equal(byId.flaky!.status, 'succeeded');
    assert.equal(byId.flaky!.attempts, 3);
    assert.ok(logs.some((l) => /^flaky: attempt 1 failed: flaky attempt 1 broke; retrying in 1s \(2 left\)$/.test(l)), logs.join('\n'));
    assert.equal(byId.hopeless!.status, 'failed');
    assert.equal(byId.hopeless!.attempts, 2);
    assert.equal(byId.slow!.status, 'failed');
    assert.equal(byId.slow!.error, 'timed out after 1s');
    assert.equal(byId.repeated!.attempts, 3);
    assert.equal(byId.delayed!.status, 'succeeded');
    const delayedDone = logs.find((l) => l.startsWith('delayed: done after'))!;
    assert.ok(Number(/after (\d+)ms/.exec(delayedDone)![1]) >= 1000, delayedDone);
    assert.ok(Date.now() - started < 5000, 'retries of different steps overlap');
  });

  test('an external abort (Ctrl-C) cancels running steps and skips waiting ones', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('interrupted')), 100);
    const { byId } = await schedule('steps:\n- {id: a, cmd: sleep 5000}\n- {id: b, cmd: sleep 1}\n', stop.signal);
    assert.equal(byId.a!.status, 'cancelled');
    assert.equal(byId.b!.status, 'skipped');
  });
});
