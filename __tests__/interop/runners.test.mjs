// The package where users test it: the small project in runners/ is run by real Jest and by
// real Vitest, each in its own process, and every case it reports becomes a case here, so this
// runner's summary counts them. The project imports the package by its name, as users do.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { killChildren, runNode } from '../support/child.mjs';
import { fromRoot } from '../support/paths.mjs';

const PROJECT = fromRoot('__tests__', 'interop', 'runners');
const CASES_PER_FRAMEWORK = [
  'the first request with a valid token is 200',
  'an expired token is 401',
  'sinon fake timers: past the token exp 401, back 200',
];
const SPIED = ['validateJwtAccessToken', 'introspectAccessToken'];

const RUNNERS = {
  jest: {
    args: (output) => [
      fromRoot('node_modules', 'jest', 'bin', 'jest.js'),
      '--config',
      join(PROJECT, 'jest.config.cjs'),
      '--ci',
      '--json',
      '--outputFile',
      output,
    ],
    cases: expectedCases('jest.useFakeTimers', 'jest.spyOn'),
  },
  vitest: {
    args: (output) => [
      fromRoot('node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      join(PROJECT, 'vitest.config.mjs'),
      '--reporter=json',
      '--outputFile',
      output,
    ],
    cases: expectedCases('vi.useFakeTimers', 'vi.spyOn'),
  },
};

function expectedCases(fakeTimers, spyOn) {
  const perFramework = [...CASES_PER_FRAMEWORK, `${fakeTimers}: past the token exp 401, back 200`];
  return [
    ...['express', 'fastify'].flatMap((framework) => perFramework.map((name) => `${framework} › ${name}`)),
    'a misconfigured client throws MonoCloudValidationError with the original message',
    ...SPIED.map((method) => `spying on the client › ${spyOn}(client, "${method}") decides what validateAccessToken returns`),
  ];
}

// A test in the child sees only what a user's shell would give it.
const env = { ...process.env };
for (const name of Object.keys(env)) if (name.startsWith('MONOCLOUD_BACKEND_') || name.startsWith('NODE_TEST')) delete env[name];

const scratch = mkdtempSync(join(tmpdir(), 'monocloud-runners-'));
after(() => {
  killChildren();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs one runner to its end (bounded) and reads the Jest-shaped JSON report it wrote. */
async function run(name) {
  const output = join(scratch, `${name}.json`);
  const result = await runNode(RUNNERS[name].args(output), { env, timeoutMs: 180_000 });
  let report;
  try {
    report = JSON.parse(readFileSync(output, 'utf8'));
  } catch {
    report = undefined;
  }
  const cases = new Map();
  for (const file of report?.testResults ?? []) {
    for (const assertion of file.assertionResults ?? []) {
      cases.set([...assertion.ancestorTitles, assertion.title].join(' › '), assertion);
    }
  }
  return { ...result, report, cases };
}

// Run before the cases are declared, so that each reported case is one case here.
const results = {};
for (const name of Object.keys(RUNNERS)) results[name] = await run(name);

for (const [name, { cases: expected }] of Object.entries(RUNNERS)) {
  const { code, killed, stdout, stderr, report, cases } = results[name];
  const transcript = `${stdout}\n${stderr}`.slice(-8000);

  describe(`${name} runs the user project`, () => {
    test('it finished and reported every case, none skipped', () => {
      assert.equal(killed, false, `${name} did not finish in time:\n${transcript}`);
      assert.ok(report, `${name} wrote no report:\n${transcript}`);
      assert.deepEqual([...cases.keys()].sort(), [...expected].sort(), transcript);
      assert.equal(report.numPendingTests, 0);
      assert.equal(report.numTodoTests ?? 0, 0);
      assert.equal(report.numTotalTests, expected.length);
      // Its exit status agrees with its report.
      assert.equal(code, report.numFailedTests === 0 && report.numFailedTestSuites === 0 ? 0 : 1, transcript);
    });

    for (const caseName of expected) {
      test(caseName, () => {
        const reported = cases.get(caseName);
        assert.ok(reported, `${name} did not report "${caseName}":\n${transcript}`);
        assert.equal(reported.status, 'passed', (reported.failureMessages ?? []).join('\n'));
      });
    }
  });
}
