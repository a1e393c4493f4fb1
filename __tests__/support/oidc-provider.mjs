// A real, certified authorization server (panva's oidc-provider) running in-process on
// loopback, so integration tests check the guard against tokens it did not make itself.
import { X509Certificate, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';

import Provider, { errors } from 'oidc-provider';

import { privateJwk } from './forge.mjs';
import { basicAuthorization } from './oauth-http.mjs';

const SCOPE = 'read:things write:things';

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

/** The peer certificate of a TLS request as PEM, or undefined (plain http, or none sent). */
function peerCertificate(socket) {
  const peer = socket.getPeerCertificate?.();
  return peer?.raw ? new X509Certificate(peer.raw).toString() : undefined;
}

/**
 * tls_client_auth_* metadata against the presented certificate. The DN is compared as RFC 4514
 * writes it (most specific RDN first, comma-separated); node lists RDNs in ASN.1 order, one per
 * line. Good for the simple names tests use (no escaping).
 */
function certificateSubjectMatches(ctx, property, expected) {
  const pem = peerCertificate(ctx.socket);
  if (!pem) return false;
  const cert = new X509Certificate(pem);
  if (property === 'tls_client_auth_subject_dn') {
    return cert.subject.split('\n').reverse().join(',') === expected;
  }
  const prefix = {
    tls_client_auth_san_dns: 'DNS:',
    tls_client_auth_san_uri: 'URI:',
    tls_client_auth_san_ip: 'IP Address:',
    tls_client_auth_san_email: 'email:',
  }[property];
  const names = (cert.subjectAltName ?? '').split(', ');
  return prefix !== undefined && names.includes(`${prefix}${expected}`);
}

/**
 * Starts oidc-provider on http://127.0.0.1:<ephemeral port> with one confidential client
 * (client_secret_basic or client_secret_post) allowed the client_credentials grant, and
 * the introspection and revocation endpoints enabled.
 *
 * Note: oidc-provider refuses to introspect or revoke JWT access tokens
 * (unsupported_token_type); use `token({ format: 'opaque' })` for those endpoints.
 *
 * Optional extras (integration tests of introspection and mTLS):
 * - `clients`: more client metadata, each defaulting to a client_credentials-only client.
 * - `clientAuthSigningAlgValues`: the JWS algs accepted for client_secret_jwt/private_key_jwt.
 * - `tls: { cert, key, ca, trustStores }` (PEM text): serve over https://127.0.0.1:<port>
 *   instead, asking every caller for a client certificate (verified against `ca` but not
 *   required, so callers without one still get in), with features.mTLS on (tls_client_auth,
 *   self_signed_tls_client_auth, certificate-bound access tokens). Discovery advertises
 *   `mtls_endpoint_aliases` on the same origin, and for each id in `trustStores`
 *   `mtls_additional_endpoint_aliases[id]` at `/stores/<id>/…` (a prefix the server strips, so
 *   a test can tell which alias a request came through).
 *
 * - `clientCredentialsTtl`: seconds client_credentials tokens live (default 300).
 * - `audienceOf(indicator)`: the `aud` tokens for a resource indicator carry (default the
 *   indicator itself), for audiences that are not URIs and so cannot be indicators.
 * - `dpopNonce: true`: the token endpoint requires DPoP server nonces (features.dPoP's
 *   nonceSecret and requireNonce): a proof without a valid nonce is answered 400
 *   `use_dpop_nonce` with a `DPoP-Nonce` header.
 * - `resourceScope`: the scopes every resource server grants (default `read:things write:things`);
 *   a client_credentials request may ask for any of them.
 *
 * Besides the original members, the result has `requests` (every request: method, path after
 * prefix stripping, `store`, and whether a client `certificate` was presented), `provider` (the
 * oidc-provider instance) and `revoke(token)`.
 */
export async function startOidcProvider({
  audience = 'https://api.example.com',
  algs = ['RS256', 'ES256'],
  clients = [],
  clientAuthSigningAlgValues,
  tls,
  clientCredentialsTtl = 300,
  audienceOf = (indicator) => indicator,
  dpopNonce = false,
  resourceScope = SCOPE,
} = {}) {
  const server = tls
    ? createHttpsServer({
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      // Ask for a certificate on every connection but let the provider decide what it means:
      // tls_client_auth needs a CA-verified one, self_signed_tls_client_auth a registered one,
      // and other callers (discovery, JWKS) none at all.
      requestCert: true,
      rejectUnauthorized: false,
    })
    : createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // Plain http on loopback needs no special settings: oidc-provider accepts any web URI
  // as issuer, and nothing here (client_credentials, introspection) uses cookies.
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  const clientId = 'test-client';
  const clientSecret = randomBytes(24).toString('base64url');
  const trustStores = tls?.trustStores ?? [];

  const mtlsAliases = (prefix) => ({
    token_endpoint: `${prefix}/token`,
    introspection_endpoint: `${prefix}/token/introspection`,
    revocation_endpoint: `${prefix}/token/revocation`,
  });

  const provider = new Provider(issuer, {
    // One key per alg, pinned with "alg", so a resource server's jwt.sign.alg picks exactly it.
    jwks: { keys: algs.map((alg) => privateJwk(alg, { use: 'sig', kid: `${alg.toLowerCase()}-1` })) },
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      // oidc-provider accepts client_secret_post too for a client registered with basic.
      token_endpoint_auth_method: 'client_secret_basic',
    }, ...clients.map((client) => ({
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      ...client,
    }))],
    ...(clientAuthSigningAlgValues ? { enabledJWA: { clientAuthSigningAlgValues } } : {}),
    // oidc-provider has no setting for RFC 8705 aliases of its own; `discovery` members are
    // added to the document as given.
    ...(tls ? {
      // features.mTLS only makes these methods allowed; they must also be listed to be usable.
      clientAuthMethods: [
        'client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none',
        'tls_client_auth', 'self_signed_tls_client_auth',
      ],
      discovery: {
        mtls_endpoint_aliases: mtlsAliases(issuer),
        ...(trustStores.length ? {
          mtls_additional_endpoint_aliases: Object.fromEntries(
            trustStores.map((id) => [id, mtlsAliases(`${issuer}/stores/${encodeURIComponent(id)}`)]),
          ),
        } : {}),
      },
    } : {}),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      ...(dpopNonce ? { dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } } : {}),
      introspection: { enabled: true },
      revocation: { enabled: true },
      ...(tls ? {
        mTLS: {
          enabled: true,
          certificateBoundAccessTokens: true,
          tlsClientAuth: true,
          selfSignedTlsClientAuth: true,
          getCertificate: (ctx) => peerCertificate(ctx.socket),
          // Verified against `tls.ca` by the TLS layer (rejectUnauthorized is off, so look).
          certificateAuthorized: (ctx) => ctx.socket.authorized === true,
          certificateSubjectMatches,
        },
      } : {}),
      resourceIndicators: {
        enabled: true,
        async getResourceServerInfo(_ctx, indicator) {
          const { audience: indicated, params } = parseResourceIndicator(indicator);
          const aud = audienceOf(indicated);
          if (params.get('format') === 'opaque') {
            return { scope: resourceScope, audience: aud, accessTokenFormat: 'opaque' };
          }
          const alg = params.get('alg') ?? algs[0];
          if (!algs.includes(alg)) {
            throw new errors.InvalidTarget(`this provider has no ${alg} key`);
          }
          return { scope: resourceScope, audience: aud, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
        },
      },
    },
    ttl: { ClientCredentials: clientCredentialsTtl },
  });

  const requests = [];
  server.on('request', (req, res) => {
    let store;
    const match = /^\/stores\/([^/]+)(\/.*)$/.exec(req.url);
    if (match && trustStores.includes(decodeURIComponent(match[1]))) {
      store = decodeURIComponent(match[1]);
      req.url = match[2];
    }
    requests.push({
      method: req.method,
      path: req.url.split('?')[0],
      store,
      certificate: peerCertificate(req.socket) !== undefined,
    });
    // Koa composes its middleware when callback() is called: calling it per request lets a
    // test add `provider.use(...)` middleware after start.
    provider.callback()(req, res);
  });

  const basicAuth = basicAuthorization(clientId, clientSecret);

  /**
   * POST a form with node:http(s) rather than fetch: fetch cannot present a client
   * certificate nor trust a test CA. One connection per request (agent: false), so close()
   * never waits for the test's own sockets.
   */
  function postForm(url, form, { headers = {}, cert, key } = {}) {
    const body = new URLSearchParams(form).toString();
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(target, {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          accept: 'application/json',
          ...headers,
        },
        ...(target.protocol === 'https:' ? { ca: tls?.ca, cert, key } : {}),
      }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(10_000, () => req.destroy(new Error(`POST ${url} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * A fresh access token from a real client_credentials request to the token endpoint.
   * `auth` picks the requesting client: `{ clientId, clientSecret }` (client_secret_basic) or
   * `{ clientId, cert, key }` (tls_client_auth / self_signed_tls_client_auth); default the
   * built-in client. `dpop` is a proof for `POST <issuer>/token`: the token is then DPoP-bound.
   */
  async function token({
    alg = algs[0], scope = 'read:things', resource = audience, format = 'jwt', auth, dpop,
  } = {}) {
    const form = {
      grant_type: 'client_credentials',
      scope,
      resource: resourceIndicator(resource, { alg, format }),
    };
    let options = { headers: { authorization: basicAuth } };
    if (auth?.cert) {
      form.client_id = auth.clientId;
      options = { cert: auth.cert, key: auth.key };
    } else if (auth) {
      options = { headers: { authorization: basicAuthorization(auth.clientId, auth.clientSecret) } };
    }
    // A DPoP proof (RFC 9449 §5) makes the provider issue a token bound to the proof's key.
    if (dpop) options.headers = { ...options.headers, dpop };
    const response = await postForm(`${issuer}/token`, form, options);
    const body = JSON.parse(response.text);
    if (response.status !== 200) {
      throw new Error(`token endpoint answered ${response.status}: ${response.text}`);
    }
    return body.access_token;
  }

  /** Revokes a token of the built-in client at the revocation endpoint (RFC 7009). */
  async function revoke(value) {
    const response = await postForm(`${issuer}/token/revocation`, { token: value, token_type_hint: 'access_token' }, {
      headers: { authorization: basicAuth },
    });
    if (response.status !== 200) {
      throw new Error(`revocation endpoint answered ${response.status}: ${response.text}`);
    }
  }

  let closing;
  function close() {
    closing ??= new Promise((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // HTTP clients (the addon's pool, fetch) keep connections alive; without this close()
      // would wait for them to time out.
      server.closeAllConnections();
    });
    return closing;
  }

  return { issuer, clientId, clientSecret, token, revoke, requests, provider, close };
}
