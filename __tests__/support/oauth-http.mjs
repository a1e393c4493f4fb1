// What a test needs to speak to an issuer over HTTP on its own, without our client in between:
// client authentication as RFC 6749 words it, and the issuer's documents read with jose, an
// independent verifier, so a failure points at the issuer under test and not at our reading.
import assert from 'node:assert/strict';

import { createRemoteJWKSet } from 'jose';

/** RFC 6749 §2.3.1 (application/x-www-form-urlencoded), as client_secret_basic needs it. */
export function formEncode(value) {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** RFC 6749 §2.3.1: each part is form-encoded before the two are joined and base64-encoded. */
export function basicAuthorization(clientId, clientSecret) {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}

/** GET `url`: it must answer 200 with JSON. */
export async function getJson(url) {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return response.json();
}

/** The issuer's discovery document (whose `issuer` must be `issuerUrl`) and its key set, for jose. */
export async function remoteJwks(issuerUrl) {
  const discovery = await getJson(`${issuerUrl}/.well-known/openid-configuration`);
  assert.equal(discovery.issuer, issuerUrl);
  return { discovery, jwks: createRemoteJWKSet(new URL(discovery.jwks_uri)) };
}
