// The request vectors of __tests__/support/request-vectors.mjs against a real app of every
// adapter: each answers with the expected status, WWW-Authenticate and body, byte for byte the
// same as Express.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { adapters } from '../support/every-framework.mjs';
import { get } from '../support/frameworks.mjs';
import { mintTokens, routes, vectors } from '../support/request-vectors.mjs';

let issuer;
let tokens;
let deadUrl;
const expressAnswers = new Map();

/** A port nothing listens on: bound, then closed. */
async function closedPort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
  tokens = await mintTokens(issuer);
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
});

after(async () => {
  await issuer?.close();
});

function answerOf(res) {
  return { status: res.status, challenge: res.headers['www-authenticate'], text: res.text };
}

for (const adapter of adapters) {
  describe(`${adapter.name}: the request vectors`, () => {
    const apps = {};

    before(async () => {
      apps.up = await adapter.serve({ tenantDomain: issuer.url, audience: issuer.audience }, routes);
      apps.down = await adapter.serve({ tenantDomain: deadUrl, audience: issuer.audience, responseTimeout: 2000 }, routes);
      apps.introspect = await adapter.serve({ ...issuer.clientOptions }, routes);
    });

    after(async () => {
      await apps.up?.close();
      await apps.down?.close();
      await apps.introspect?.close();
    });

    for (const vector of vectors) {
      test(vector.name, async () => {
        const app = apps[vector.issuer ?? 'up'];
        const answer = answerOf(await get(`${app.url}${vector.path}`, vector.headers(tokens)));
        const { expect } = vector;
        assert.equal(answer.status, expect.status, answer.text);
        assert.equal(answer.challenge, expect.challenge);
        if (expect.sub !== undefined) assert.equal(JSON.parse(answer.text).claims.sub, expect.sub);
        else assert.equal(answer.text, expect.body);
        if (adapter.name === 'Express 5') expressAnswers.set(vector.name, answer);
        else assert.deepEqual(answer, expressAnswers.get(vector.name), 'the same bytes as Express');
      });
    }
  });
}

// The resolvers reach every adapter through the protect core, with the adapter's own request.
for (const adapter of adapters) {
  describe(`${adapter.name}: token and certificate resolvers`, () => {
    let app;
    const seen = [];

    before(async () => {
      app = await adapter.serve(
        {
          tenantDomain: issuer.url,
          audience: issuer.audience,
          tokenResolver: (request) => adapter.header(request, 'x-token'),
          certificateResolver: (request) => {
            seen.push(adapter.header(request, 'x-seen'));
            return undefined;
          },
        },
        routes,
      );
    });

    after(async () => {
      await app?.close();
    });

    test('a resolved token is used, and no resolved token falls back to the header', async () => {
      const viaResolver = await get(`${app.url}/plain`, { 'x-token': tokens.valid, 'x-seen': 'one' });
      assert.equal(viaResolver.status, 200, viaResolver.text);
      assert.equal(viaResolver.body.claims.sub, 'test-user');
      const viaHeader = await get(`${app.url}/scoped`, { authorization: `Bearer ${tokens.admin}`, 'x-seen': 'two' });
      assert.equal(viaHeader.status, 200, viaHeader.text);
      const refused = await get(`${app.url}/plain`, { 'x-token': 'not-a-jwt.at.all', authorization: `Bearer ${tokens.valid}` });
      assert.equal(refused.status, 401, 'the resolved token wins over the header');
      assert.deepEqual(seen.slice(0, 2), ['one', 'two'], 'the certificate resolver saw each request');
    });

    test('on an optional route, nothing resolved and no header passes with no claims', async () => {
      const res = await get(`${app.url}/optional`);
      assert.equal(res.status, 200);
      assert.equal(res.text, '{}');
      assert.equal((await get(`${app.url}/optional`, { 'x-token': 'not-a-jwt.at.all' })).status, 401);
    });
  });
}
