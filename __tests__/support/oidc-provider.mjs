// A real, certified authorization server (panva's oidc-provider) running in-process on
// loopback, so integration tests check the guard against tokens it did not make itself.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const SCOPE = 'read:things write:things';

function generatePrivateJwk(alg) {
  let pair;
  if (/^(RS|PS)/.test(alg)) pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (alg === 'ES256') pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  else if (alg === 'ES384') pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  else if (alg === 'ES512') pair = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  else if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519');
  else throw new TypeError(`unsupported alg ${alg}`);
  // One key per alg, pinned with "alg", so a resource server's jwt.sign.alg picks exactly it.
  return { ...pair.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-1` };
}

/**
 * The resource indicator for `resource` whose tokens are signed with `alg` (or are opaque).
 * oidc-provider chooses format and signing alg per resource server, and the indicator is
 * the only thing the client_credentials request can vary, so the choice rides in its
 * query. The token's `aud` is `resource` itself.
 */
function resourceIndicator(resource, { alg, format }) {
  return `${resource}?${new URLSearchParams(format === 'opaque' ? { format } : { alg })}`;
}

function parseResourceIndicator(indicator) {
  const q = indicator.indexOf('?');
  if (q === -1) return { audience: indicator, params: new URLSearchParams() };
  return { audience: indicator.slice(0, q), params: new URLSearchParams(indicator.slice(q + 1)) };
}

/**
 * Starts oidc-provider on http://127.0.0.1:<ephemeral port> with one confidential client
 * (client_secret_basic or client_secret_post) allowed the client_credentials grant, and
 * the introspection and revocation endpoints enabled.
 *
 * Note: oidc-provider refuses to introspect or revoke JWT access tokens
 * (unsupported_token_type); use `token({ format: 'opaque' })` for those endpoints.
 */
export async function startOidcProvider({ audience = 'https://api.example.com', algs = ['RS256', 'ES256'] } = {}) {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // Plain http on loopback needs no special settings: oidc-provider accepts any web URI
  // as issuer, and nothing here (client_credentials, introspection) uses cookies.
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const clientId = 'test-client';
  const clientSecret = randomBytes(24).toString('base64url');

  const provider = new Provider(issuer, {
    jwks: { keys: algs.map(generatePrivateJwk) },
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      // oidc-provider accepts client_secret_post too for a client registered with basic.
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        async getResourceServerInfo(_ctx, indicator) {
          const { audience: aud, params } = parseResourceIndicator(indicator);
          if (params.get('format') === 'opaque') {
            return { scope: SCOPE, audience: aud, accessTokenFormat: 'opaque' };
          }
          const alg = params.get('alg') ?? algs[0];
          if (!algs.includes(alg)) {
            throw new errors.InvalidTarget(`this provider has no ${alg} key`);
          }
          return { scope: SCOPE, audience: aud, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
        },
      },
    },
    ttl: { ClientCredentials: 300 },
  });
  server.on('request', provider.callback());

  const basicAuth = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;

  /** A fresh access token from a real client_credentials request to the token endpoint. */
  async function token({ alg = algs[0], scope = 'read:things', resource = audience, format = 'jwt' } = {}) {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope,
        resource: resourceIndicator(resource, { alg, format }),
      }),
    });
    const body = await response.json();
    if (!response.ok) {
      throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
    }
    return body.access_token;
  }

  let closing;
  function close() {
    closing ??= new Promise((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // fetch keeps connections alive; without this close() would wait for them to time out.
      server.closeAllConnections();
    });
    return closing;
  }

  return { issuer, clientId, clientSecret, token, close };
}
