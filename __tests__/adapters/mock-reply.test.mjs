// The Fastify hook called the way users unit-test it: a plain request object and a mock reply
// with `status`, `header`, `headers`, `send` and `sent`, and no `then` (a real reply is thenable;
// a mock is not). Also: a client whose validation methods are spied on is honoured by the hook.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MonoCloudBackendNodeClient } from '@monocloud/backend-node-rs';
import { protectApi } from '@monocloud/backend-node-rs/fastify';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';
import { NO_TOKEN_CHALLENGE } from '../support/challenges.mjs';

let issuer;

before(async () => {
  issuer = await createTestIssuer({ algs: ['ES256'] });
});

after(async () => {
  await issuer?.close();
});

/** A reply as users mock it: every method records its call and returns the reply. */
function mockReply() {
  const calls = [];
  const reply = { sent: false, calls };
  for (const name of ['status', 'header', 'headers', 'send']) {
    reply[name] = (...args) => {
      calls.push([name, ...args]);
      if (name === 'send') reply.sent = true;
      return reply;
    };
  }
  return reply;
}

const mockRequest = (authorization) => ({
  headers: authorization === undefined ? {} : { authorization },
  method: 'GET',
  url: '/me',
});

describe('the Fastify hook with a mock reply', () => {
  test('no token: 401 with the Bearer challenge, and the hook resolves', async () => {
    const reply = mockReply();
    const hook = protectApi(issuer.clientOptions)();
    await hook(mockRequest(), reply);
    assert.deepEqual(reply.calls, [
      ['header', 'WWW-Authenticate', NO_TOKEN_CHALLENGE],
      ['status', 401],
      ['send', { message: 'unauthorized' }],
    ]);
  });

  test('an expired token: 401 invalid_token', async () => {
    const reply = mockReply();
    const token = await issuer.mint({ claims: { exp: Math.floor(Date.now() / 1000) - 3600 } });
    await protectApi(issuer.clientOptions)()(mockRequest(`Bearer ${token}`), reply);
    assert.deepEqual(reply.calls, [
      ['header', 'WWW-Authenticate', 'Bearer error="invalid_token"'],
      ['status', 401],
      ['send', { message: 'unauthorized' }],
    ]);
  });

  test('a missing scope: 403 insufficient_scope', async () => {
    const reply = mockReply();
    const token = await issuer.mint({ claims: { scope: 'other' } });
    await protectApi(issuer.clientOptions)({ scopes: ['read:things'] })(mockRequest(`Bearer ${token}`), reply);
    assert.deepEqual(reply.calls, [
      ['header', 'WWW-Authenticate', 'Bearer error="insufficient_scope"'],
      ['status', 403],
      ['send', { message: 'forbidden' }],
    ]);
  });

  test('a valid token: the claims are on the request and nothing is sent', async () => {
    const reply = mockReply();
    const request = mockRequest(`Bearer ${await issuer.mint({ claims: { sub: 'alice' } })}`);
    await protectApi(issuer.clientOptions)()(request, reply);
    assert.deepEqual(reply.calls, []);
    assert.equal(request.claims.sub, 'alice');
  });

  test('a mock whose status() returns nothing still gets the body', async () => {
    const reply = mockReply();
    reply.status = (code) => {
      reply.calls.push(['status', code]);
    };
    await protectApi(issuer.clientOptions)()(mockRequest(), reply);
    assert.deepEqual(reply.calls.at(-1), ['send', { message: 'unauthorized' }]);
  });

  test('a reply already sent is left alone', async () => {
    const reply = mockReply();
    reply.sent = true;
    await protectApi(issuer.clientOptions)()(mockRequest(), reply);
    assert.deepEqual(reply.calls, []);
  });
});

describe('the hook honours spies on the client it is given', () => {
  test('validateJwtAccessToken spied on the instance decides the claims', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    const original = client.validateJwtAccessToken;
    client.validateJwtAccessToken = async function (token, options) {
      return { ...(await original.call(this, token, options)), spied: true };
    };
    const request = mockRequest(`Bearer ${await issuer.mint()}`);
    await protectApi(client)()(request, mockReply());
    assert.equal(request.claims.spied, true);
  });

  test('a rejecting validateJwtAccessToken spy refuses the request', async () => {
    const client = new MonoCloudBackendNodeClient(issuer.clientOptions);
    client.validateJwtAccessToken = async () => {
      throw new Error('no');
    };
    const reply = mockReply();
    await protectApi(client)()(mockRequest(`Bearer ${await issuer.mint()}`), reply);
    assert.deepEqual(reply.calls.at(-2), ['status', 401]);
  });
});
