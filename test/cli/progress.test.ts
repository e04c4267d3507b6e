import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { formatBytes, progressView } from '../../src/cli/progress.js';

function capture(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY: boolean; columns: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const digest = `sha256:${'ab'.repeat(32)}`;

test('terminal: one bar per blob, redrawn in place', async () => {
  const out = capture(true);
  const view = progressView({ stream: out.stream });
  view.onEvent({ type: 'blob', digest, size: 4 * 1024 * 1024, state: 'waiting', bytes: 0 });
  view.onEvent({ type: 'blob', digest, size: 4 * 1024 * 1024, state: 'transferring', bytes: 1024 * 1024 });
  await new Promise((r) => setTimeout(r, 150));
  view.onEvent({ type: 'blob', digest, size: 4 * 1024 * 1024, state: 'done', bytes: 4 * 1024 * 1024 });
  view.onEvent({ type: 'manifest', digest, mediaType: 'x', platform: 'linux/arm64' });
  view.finish();
  const text = out.text();
  assert.match(text, /abababababab {2}\[=====> {18}\] {3}1.00 MiB \/ 4.00 MiB {3}copying/);
  assert.match(text, /\x1b\[1A/, 'the second frame moves the cursor back over the first');
  assert.match(text, /manifest abababababab \(linux\/arm64\) written/);
  assert.match(text, /\[={24}\] {3}4.00 MiB \/ 4.00 MiB {3}done/);
});

test('not a terminal: plain lines; quiet: nothing', () => {
  const out = capture(false);
  const view = progressView({ stream: out.stream });
  view.onEvent({ type: 'blob', digest, size: 10, state: 'waiting', bytes: 0 });
  view.onEvent({ type: 'blob', digest, size: 10, state: 'transferring', bytes: 5 });
  view.onEvent({ type: 'blob', digest, size: 10, state: 'transferring', bytes: 10 });
  view.onEvent({ type: 'blob', digest, size: 10, state: 'done', bytes: 10 });
  view.finish();
  assert.equal(out.text(), 'blob abababababab copying 10 B\nblob abababababab done (10 B)\n');
  const quiet = capture(false);
  const q = progressView({ stream: quiet.stream, quiet: true });
  q.onEvent({ type: 'blob', digest, size: 10, state: 'done', bytes: 10 });
  assert.equal(quiet.text(), '');
  assert.equal(formatBytes(1536), '1.50 KiB');
});
