// Failures are diagnosable without an onEvent hook: when protectApi answers 500 or 503 because
// of the configuration or the issuer, the process gets one warning (process.emitWarning, with a
// MONOCLOUD_* code) per cause and minute, without a token or a secret in it. An onEvent hook, the
// `warnings: false` option or MONOCLOUD_BACKEND_WARNINGS=false turns them off.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import { withEnv } from '../support/env.mjs';
import { frameworks, get, serve } from '../support/frameworks.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';
import { deadUrl as freshDeadUrl, startScriptedIssuer } from '../support/scripted-issuer.mjs';

const AUDIENCE = 'https://api.example.com';
const WRONG_SECRET = 'wrong-secret-Zx81qPv0';
const BURST = 6;

let op;
let deadUrl;
let scripted;
let warnings = [];
const listen = (warning) => {
  if (warning.name === 'MonoCloudWarning') warnings.push(warning);
};

before(async () => {
  op = await startOidcProvider({ audience: AUDIENCE, algs: ['RS256', 'ES256'] });
  deadUrl = await freshDeadUrl();
  // Its discovery document has no introspection_endpoint.
  scripted = await startScriptedIssuer();
  process.on('warning', listen);
});

after(async () => {
  process.off('warning', listen);
  await op?.close();
  await scripted?.close();
});

beforeEach(() => {
  warnings = [];
});

/** Lets process.emitWarning's deferred 'warning' events arrive. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function assertClean(texts, secrets) {
  for (const text of texts) for (const secret of secrets) assert.ok(!text.includes(secret), `"${text}" contains a secret or token`);
}

for (const framework of frameworks.filter((f) => f.name === 'Express 5' || f.name === 'Fastify 4')) {
  describe(`${framework.name}: warnings about 5xx answers`, () => {
    const { protectApi } = framework.adapter;
    let app;
    const events = [];
    const wrongSecret = { tenantDomain: op?.issuer, audience: AUDIENCE, clientId: 'test-client', clientSecret: WRONG_SECRET, clientAuthMethod: 'client_secret_basic' };

    before(async () => {
      const options = { ...wrongSecret, tenantDomain: op.issuer };
      app = await serve(framework, {
        '/wrong-secret': [protectApi(options)()],
        '/wrong-secret-hooked': [protectApi({ ...options, onEvent: (event) => events.push(event) })()],
        '/wrong-secret-quiet': [protectApi({ ...options, warnings: false })()],
        '/issuer-down': [protectApi({ tenantDomain: deadUrl, audience: AUDIENCE })()],
        '/jwt-only': [protectApi({ tenantDomain: op.issuer, audience: AUDIENCE })()],
        '/no-endpoint': [protectApi({ tenantDomain: scripted.url, audience: AUDIENCE, clientId: 'c', clientSecret: WRONG_SECRET })()],
      });
    });

    after(async () => {
      await app?.close();
    });

    afterEach(settle);

    async function burst(path, tokens) {
      const answers = await Promise.all(tokens.map((token) => get(`${app.url}${path}`, { authorization: `Bearer ${token}` })));
      // And a few more once the first have been answered.
      for (const token of tokens.slice(0, 2)) answers.push(await get(`${app.url}${path}`, { authorization: `Bearer ${token}` }));
      await settle();
      return answers;
    }

    const opaqueTokens = () => Promise.all(Array.from({ length: BURST }, () => op.token({ format: 'opaque' })));

    test('a wrong client secret against oidc-provider: every answer 500, exactly one MONOCLOUD_CONFIG_ERROR warning', async () => {
      const tokens = await opaqueTokens();
      const answers = await burst('/wrong-secret', tokens);
      for (const answer of answers) assert.equal(answer.status, 500);
      assert.equal(warnings.length, 1, warnings.map((w) => w.message).join('\n'));
      const [warning] = warnings;
      assert.equal(warning.code, 'MONOCLOUD_CONFIG_ERROR');
      assert.match(warning.message, /answered 500/);
      assert.match(warning.message, /invalid_client/);
      assert.match(warning.message, /clientSecret/, 'says what to check');
      assertClean([warning.message, warning.detail ?? '', warning.stack ?? ''], [WRONG_SECRET, op.clientSecret, ...tokens]);
    });

    test('the same cause within the minute stays silent', async () => {
      const answers = await burst('/wrong-secret', await opaqueTokens());
      for (const answer of answers) assert.equal(answer.status, 500);
      assert.equal(warnings.length, 0);
    });

    test('an unreachable issuer: 503 and one MONOCLOUD_ISSUER_ERROR warning naming the URL', async () => {
      const jwt = await op.token();
      const answers = await burst('/issuer-down', Array(BURST).fill(jwt));
      for (const answer of answers) assert.equal(answer.status, 503);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].code, 'MONOCLOUD_ISSUER_ERROR');
      assert.match(warnings[0].message, /answered 503/);
      assert.ok(warnings[0].message.includes(deadUrl), warnings[0].message);
      assert.equal(warnings[0].message.split(deadUrl).length, 2, `the URL once: ${warnings[0].message}`);
      assertClean([warnings[0].message], [jwt]);
    });

    test('an issuer without an introspection endpoint: 500 and one MONOCLOUD_CONFIG_ERROR warning', async () => {
      const answers = await burst('/no-endpoint', ['opaque-1', 'opaque-2', 'opaque-3']);
      for (const answer of answers) assert.equal(answer.status, 500);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].code, 'MONOCLOUD_CONFIG_ERROR');
      assert.match(warnings[0].message, /introspection_endpoint/);
      assertClean([warnings[0].message], [WRONG_SECRET, 'opaque-1']);
    });

    test('with an onEvent hook there is no warning: the hook hears of it', async () => {
      const answers = await burst('/wrong-secret-hooked', await opaqueTokens());
      for (const answer of answers) assert.equal(answer.status, 500);
      assert.equal(warnings.length, 0);
      assert.ok(events.some((event) => event.type === 'token_rejected' && event.error === 'MonoCloudOPError'));
    });

    test('warnings: false turns them off', async () => {
      const answers = await burst('/wrong-secret-quiet', await opaqueTokens());
      for (const answer of answers) assert.equal(answer.status, 500);
      assert.equal(warnings.length, 0);
    });

    test('MONOCLOUD_BACKEND_WARNINGS=false turns them off', async () => {
      const quiet = await withEnv({ MONOCLOUD_BACKEND_WARNINGS: 'false' }, () => serve(framework, { '/down': [protectApi({ tenantDomain: deadUrl, audience: AUDIENCE })()] }));
      try {
        const answer = await get(`${quiet.url}/down`, { authorization: `Bearer ${await op.token()}` });
        assert.equal(answer.status, 503);
        await settle();
        assert.equal(warnings.length, 0);
      } finally {
        await quiet.close();
      }
    });

    test('refused tokens are not warned about: a bad JWT, and an opaque one on a JWT-only API', async () => {
      const answers = await burst('/jwt-only', ['garbage', 'a.b.c', await op.token({ format: 'opaque' })]);
      for (const answer of answers) assert.equal(answer.status, 401);
      assert.equal(warnings.length, 0);
    });
  });
}
