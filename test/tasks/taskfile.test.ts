import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseBuildArgs } from '../../src/tasks/build-args.js';
import { runInfo, loadValues } from '../../src/tasks/context.js';
import { loadTaskText } from '../../src/tasks/load.js';
import { TaskFileError } from '../../src/tasks/schema.js';
import { renderTemplate } from '../../src/tasks/template.js';
import { expandVars, parseDockerfile } from '../../src/build/dockerfile.js';

/** Task files: acb's order (aliases, templates, YAML), the template subset, and the schema's line-numbered errors. */
describe('task files', () => {
  let dir: string;
  const run = runInfo({ registry: 'reg.example:5000', id: 'ca1', taskName: 'multi-arch', commit: 'abc123', branch: 'main', now: new Date('2026-03-04T05:06:07Z') });
  const load = (text: string, values: Record<string, unknown> = {}) => loadTaskText(text, dir, run, values);
  const issues = async (text: string) => {
    try {
      await load(text);
    } catch (e) {
      assert.ok(e instanceof TaskFileError, `expected a TaskFileError, got ${(e as Error).message}`);
      return e.issues;
    }
    assert.fail('the task loaded but should not have');
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'manifold-taskfile-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('run values, Values from --values and --set, functions and pipelines; unknown keys render empty', async () => {
    await writeFile(join(dir, 'values.yaml'), 'tag: from-file\nimage:\n  name: App\nkeep: file\n');
    const values = await loadValues([join(dir, 'values.yaml')], ['tag=from-set', 'image.repo=team/app']);
    const data = { Run: run, Values: values };
    assert.equal(renderTemplate('{{.Run.Registry}}/{{.Values.image.repo}}:{{.Values.tag}}-{{.Run.ID}}', data), 'reg.example:5000/team/app:from-set-ca1');
    assert.equal(renderTemplate('{{.Run.RegistryName}} {{.Run.Date}} {{.Run.TaskName}} {{.Run.Commit}} {{.Run.Branch}}', data), 'reg 20260304-050607z multi-arch abc123 main');
    assert.equal(renderTemplate('{{ .Values.image.name | lower }}|{{upper .Values.keep}}|{{ .Values.none | default "dflt" }}|{{ default "x" .Values.tag }}', data), 'app|FILE|dflt|from-set');
    assert.equal(renderTemplate('{{ .Values.tag | quote }} {{ "a b" | squote }} {{ replace "-" "_" .Values.tag }}', data), '"from-set" \'a b\' from_set');
    assert.equal(renderTemplate('[{{.Run.Nope}}][{{.Values.missing.deeper}}][{{.Nothing}}]', data), '[][][]');
    // trim markers and comments, as Go's text/template
    assert.equal(renderTemplate('a  {{- /* note */ -}}  b {{- .Run.ID }}', data), 'abca1');
    assert.equal(renderTemplate('no actions, just {braces}', data), 'no actions, just {braces}');
  });

  test('unsupported template constructs fail with their line', async () => {
    const cases: [string, RegExp][] = [
      ['version: v1.1.0\nsteps:\n- cmd: {{if .Run.ID}}x{{end}}\n', /line 3: "if" is not supported/],
      ['version: v1.1.0\nsteps:\n\n- cmd: manifold {{ .Run.ID | sha256sum }}\n', /line 4: function "sha256sum" is not supported/],
      ['version: v1.1.0\nsteps:\n- cmd: {{ $x := 1 }}\n', /line 3: template variables/],
      ['version: v1.1.0\nsteps:\n- cmd: manifold {{ .Run.ID \n', /line 3: unclosed action/],
      ['steps:\n- cmd: manifold {{ lower }}\n', /line 2: wrong number of arguments for lower/],
    ];
    for (const [text, re] of cases) {
      const found = await issues(text);
      assert.match(found.map((i) => `line ${i.line}: ${i.message}`).join('\n'), re);
    }
  });

  test('aliases run before templates: built-ins, the task\'s own values, a custom directive, $$ and unknown names', async () => {
    const { task } = await load(
      [
        'version: v1.1.0',
        'alias:',
        '  values:',
        '    repo: "{{.Run.Registry}}/team/app"',
        '    greet: manifold manifest inspect',
        '# a comment with $repo and {{ if }} is ignored',
        'steps:',
        '  - id: one',
        '    cmd: $greet $repo:$ID $$HOME $unknown',
        '  - build: -t $repo:{{.Values.v}} --build-arg D=$Date .',
      ].join('\n'),
      { v: '7' },
    );
    assert.equal(task.steps[0]!.cmd, 'manifold manifest inspect reg.example:5000/team/app:ca1 $HOME $unknown');
    assert.equal(task.steps[1]!.build, '-t reg.example:5000/team/app:7 --build-arg D=20260304-050607z .');
    assert.equal(task.steps[1]!.id, 'acb_step_1');
    const custom = await load('alias:\n  directive: "#"\n  values:\n    img: hello\nversion: v1.0.0\nsteps:\n- cmd: manifold "#img" "$ID" "##"\n');
    assert.equal(custom.task.steps[0]!.cmd, 'manifold "hello" "$ID" "#"');
    // an image alias starting a cmd resolves without the directive, as in acb
    const bash = await load('steps:\n- cmd: bash echo hi\n');
    assert.equal(bash.task.steps[0]!.cmd, 'mcr.microsoft.com/acr/bash:fe316c9 echo hi');
  });

  test('schema errors name the property and its line, all of them at once', async () => {
    const found = await issues(
      [
        'version: v1.1.0', // 1
        'stepTimout: 30', // 2: misspelt
        'steps:', // 3
        '- build: -t a .', // 4
        '  cmd: echo', // 5: two kinds
        '- id: two', // 6: no kind
        '  timeout: soon', // 7
        '- id: three', // 8
        '  push: [x]', // 9
        '  when: [nowhere]', // 10
        '  retires: 2', // 11: misspelt
        '- id: two', // 12: duplicate
        '  cmd: manifold x', // 13
      ].join('\n'),
    );
    const text = found.map((i) => `${i.line}: ${i.message}`);
    assert.ok(text.some((t) => t.startsWith('2: unknown property "stepTimout"')), text.join('\n'));
    assert.ok(text.some((t) => /^4: step acb_step_0 has build and cmd: a step takes exactly one of build, push, cmd/.test(t)), text.join('\n'));
    assert.ok(text.some((t) => /^6: step two has none of build, push, cmd/.test(t)), text.join('\n'));
    assert.ok(text.some((t) => /^7: timeout must be a whole number/.test(t)), text.join('\n'));
    assert.ok(text.some((t) => /^10: step three waits for "nowhere", which is not a step id/.test(t)), text.join('\n'));
    assert.ok(text.some((t) => /^11: unknown property "retires" in step 3/.test(t)), text.join('\n'));
    assert.ok(text.some((t) => /^12: duplicate step id "two" \(also on line 6\)/.test(t)), text.join('\n'));
    const versions = await issues('version: v2\nsteps:\n- cmd: manifold x\n');
    assert.match(versions[0]!.message, /version v2 is not supported/);
    const cycle = await issues('steps:\n- id: a\n  cmd: manifold x\n  when: [b]\n- id: b\n  cmd: manifold y\n  when: [a]\n');
    assert.match(cycle[0]!.message, /cycle: a → b → a/);
    assert.equal(cycle[0]!.line, 4);
    const yaml = await issues('steps:\n- cmd: [unclosed\n');
    assert.match(yaml[0]!.message, /^YAML:/);
  });

  test('defaults follow acb: ids, stepTimeout, retryDelay, env merging, when', async () => {
    const { task } = await load('stepTimeout: 42\nenv: [A=task, B=task]\nsteps:\n- cmd: manifold x\n  env: [B=step]\n- cmd: manifold y\n  timeout: 7\n  retryDelay: 0\n  when: ["-"]\n');
    const [a, b] = task.steps;
    assert.equal(a!.id, 'acb_step_0');
    assert.equal(a!.timeout, 42);
    assert.equal(b!.timeout, 7);
    assert.equal(b!.retryDelay, 5);
    assert.deepEqual(a!.env.sort(), ['A=task', 'B=step']);
    assert.deepEqual(b!.when, ['-']);
  });

  test('build arguments: docker build flags, the context, and refusals by name', () => {
    const a = parseBuildArgs('-t one -t=two --tag three -f dockerfile.arm64 --build-arg X=1 --build-arg FROM_ENV --platform linux/arm64 --target final --label k=v --no-cache sub', { FROM_ENV: 'e' });
    assert.deepEqual(a.tags, ['one', 'two', 'three']);
    assert.equal(a.file, 'dockerfile.arm64');
    assert.deepEqual(a.buildArgs, { X: '1', FROM_ENV: 'e' });
    assert.equal(a.platform?.architecture, 'arm64');
    assert.equal(a.target, 'final');
    assert.equal(a.context, 'sub');
    assert.throws(() => parseBuildArgs('-t x --squash .', {}), /unsupported option --squash/);
    assert.throws(() => parseBuildArgs('-t x', {}), /expected one build context/);
    assert.throws(() => parseBuildArgs('-t x --platform linux/amd64,linux/arm64 .', {}), /several platforms/);
  });

  test('Dockerfile syntax: continuations, escape directive, stages, flags, variable forms', () => {
    const df = parseDockerfile('# escape=`\nARG BASE=alpine\nFROM --platform=$TARGETPLATFORM ${BASE} AS build\n# comment\nCOPY --chown=1:2 a `\n     b /dst/\nFROM scratch\nCMD ["x"]\n');
    assert.equal(df.globalArgs.length, 1);
    assert.equal(df.stages.length, 2);
    assert.equal(df.stages[0]!.name, 'build');
    assert.equal(df.stages[0]!.platform, '$TARGETPLATFORM');
    assert.deepEqual(df.stages[0]!.instructions[0], { line: 5, name: 'COPY', flags: { chown: '1:2' }, args: 'a b /dst/' });
    assert.deepEqual(df.stages[1]!.instructions[0]!.json, ['x']);
    assert.equal(expandVars('$A-${B}-${C:-c}-${A:+alt}-${D:+no}-\\$A', { A: 'a', B: 'b' }), 'a-b-c-alt--$A');
  });
});
