// The two issuers the client tests validate against, started once per test file: the package's
// test issuer (real JWTs and opaque tokens) and a scripted introspection endpoint whose answer
// each test sets. `issuer` and `scripted` are live bindings: they hold the running issuers once
// the file's `before` hook has run, and every test starts with both request counts at zero.
import { after, before, beforeEach } from 'node:test';

import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

import { startIntrospectionIssuer } from './scripted-issuer.mjs';

/** The audience of the scripted issuer's answers and of the clients that introspect there. */
export const AUDIENCE = 'https://api.example.com';

export let issuer;
export let scripted;

/** Registers the file's hooks that start, reset and close both issuers. */
export function useClientIssuers() {
  before(async () => {
    issuer = await createTestIssuer();
    scripted = await startIntrospectionIssuer();
  });
  after(async () => {
    await issuer?.close();
    await scripted?.close();
  });
  beforeEach(() => {
    issuer.resetCounters();
    scripted.clearCounts();
  });
}

/** Options of a client that introspects at the scripted issuer, with `extra` over them. */
export function scriptedClientOptions(extra = {}) {
  return { tenantDomain: scripted.url, audience: AUDIENCE, clientId: 'api', clientSecret: 'secret', ...extra };
}
