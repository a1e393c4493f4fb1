// The demo behind `npm start` and `npm run demo`: an Express API protected by protectApi().
//
//   npm start          serves on http://127.0.0.1:3000 (PORT, HOST) and prints curl commands
//                      to try, until Ctrl-C
//   npm run demo       plays the same requests itself, prints each answer and exits
//                      (0 when every answer is the expected one)
//
// With no configuration it starts the package's test issuer on 127.0.0.1 (no tenant, no
// network) and mints the tokens itself. With MONOCLOUD_BACKEND_TENANT_DOMAIN and
// MONOCLOUD_BACKEND_AUDIENCE set, it protects the API with your real MonoCloud tenant instead;
// bring a token for that audience in ACCESS_TOKEN.
import { createServer } from 'node:http';
import { once } from 'node:events';

import express from 'express';
import { protectApi } from '@monocloud/backend-node-rs/express';
import { createTestIssuer } from '@monocloud/backend-node-rs/testing';

const TOUR = process.argv.includes('--tour');
const HOST = process.env.HOST ?? '127.0.0.1';
// The tour listens on an ephemeral port so it never collides with a running `npm start`.
const PORT = TOUR ? 0 : Number(process.env.PORT ?? 3000);
const REAL_TENANT = Boolean(process.env.MONOCLOUD_BACKEND_TENANT_DOMAIN);
const TOKEN_LIFETIME = 3600;

/** The embedded issuer, or undefined with a real tenant. */
const issuer = REAL_TENANT ? undefined : await createTestIssuer({ algs: ['RS256'] });

let protect;
try {
  // The embedded issuer's options name its URL, audience and introspection client; with a
  // real tenant protectApi() reads the MONOCLOUD_BACKEND_* environment variables itself.
  protect = issuer ? protectApi(issuer.clientOptions) : protectApi();
} catch (error) {
  // A configuration mistake surfaces here, at start-up, never on the first request.
  console.error(`Configuration error: ${error.message}`);
  await issuer?.close();
  process.exit(1);
}

const app = express();

app.get('/api/public', (req, res) => {
  res.json({ message: 'Public: no token needed' });
});

app.get('/api/messages', protect({ scopes: ['read:messages'] }), (req, res) => {
  res.json({ messages: ['Hello from a protected route'], user: req.claims.sub });
});

app.get('/api/admin', protect({ scopes: ['admin'] }), (req, res) => {
  res.json({ message: 'Admins only', user: req.claims.sub });
});

const server = createServer(app);
server.listen(PORT, HOST);
try {
  await once(server, 'listening');
} catch (error) {
  console.error(
    error.code === 'EADDRINUSE'
      ? `Port ${PORT} on ${HOST} is in use: try PORT=3001 npm start`
      : `Cannot listen on ${HOST}:${PORT}: ${error.message}`,
  );
  await issuer?.close();
  process.exit(1);
}
const api = `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${server.address().port}`;

/** The requests to show: what each sends and (for the embedded issuer) the status it must get. */
async function scenarios() {
  if (!issuer) {
    const token = process.env.ACCESS_TOKEN;
    return [
      { title: 'a public route, no token', path: '/api/public', expect: 200 },
      { title: 'no token', path: '/api/messages', expect: 401 },
      ...(token
        ? [
            { title: 'your ACCESS_TOKEN: 200 with scope read:messages, else 403', path: '/api/messages', token, shownToken: '$ACCESS_TOKEN' },
            { title: 'your ACCESS_TOKEN: 200 with scope admin, else 403', path: '/api/admin', token, shownToken: '$ACCESS_TOKEN' },
          ]
        : []),
    ];
  }
  const reader = await issuer.mint({ claims: { sub: 'demo-user', scope: 'read:messages' }, expiresIn: TOKEN_LIFETIME });
  const opaque = issuer.mintOpaque({ sub: 'demo-user', scope: 'read:messages' }, { expiresIn: TOKEN_LIFETIME });
  // Same header and payload, another signature: what a forger can produce without the key.
  const [header, payload, signature] = reader.split('.');
  const forged = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
  return [
    { title: 'a valid JWT with scope read:messages', path: '/api/messages', token: reader, expect: 200 },
    { title: 'the same JWT, which lacks scope admin', path: '/api/admin', token: reader, expect: 403 },
    { title: 'no token', path: '/api/messages', expect: 401 },
    { title: 'an opaque token, checked with the issuer\'s introspection endpoint', path: '/api/messages', token: opaque, expect: 200 },
    { title: 'a JWT with a forged signature', path: '/api/messages', token: forged, expect: 401 },
  ];
}

/** The curl command for a step; the tour shortens tokens, since it sends them itself. */
function curl(step, { shorten = false } = {}) {
  let shownToken = step.shownToken ?? step.token;
  if (shorten && shownToken && shownToken.length > 40) shownToken = `${shownToken.slice(0, 24)}…`;
  const auth = shownToken ? ` -H "Authorization: Bearer ${shownToken}"` : '';
  return `curl -i ${api}${step.path}${auth}`;
}

function banner() {
  console.log('@monocloud/backend-node-rs demo: an Express API protected by protectApi()');
  if (issuer) {
    console.log(`  token issuer: ${issuer.url} (the embedded test issuer; no tenant needed)`);
  } else {
    console.log(`  token issuer: ${process.env.MONOCLOUD_BACKEND_TENANT_DOMAIN} (your tenant)`);
  }
  console.log(`  API:          ${api}`);
  console.log('');
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await issuer?.close();
}

const steps = await scenarios();
banner();

if (TOUR) {
  let failures = 0;
  for (const step of steps) {
    console.log(`GET ${step.path}  (${step.title})`);
    console.log(`  $ ${curl(step, { shorten: true })}`);
    const response = await fetch(`${api}${step.path}`, {
      headers: step.token ? { authorization: `Bearer ${step.token}` } : {},
    });
    const challenge = response.headers.get('www-authenticate');
    const body = await response.text();
    const verdict = step.expect === undefined ? '' : response.status === step.expect ? '  ✓' : `  ✗ expected ${step.expect}`;
    if (step.expect !== undefined && response.status !== step.expect) failures += 1;
    console.log(`  → ${response.status} ${response.statusText}${verdict}`);
    if (challenge) console.log(`    WWW-Authenticate: ${challenge}`);
    console.log(`    ${body}`);
    console.log('');
  }
  await stop();
  console.log(failures === 0 ? 'Every answer was the expected one.' : `${failures} answer(s) were not the expected ones.`);
  process.exitCode = failures === 0 ? 0 : 1;
} else {
  console.log(issuer
    ? `Try it (the tokens are valid for ${TOKEN_LIFETIME / 60} minutes):`
    : 'Try it (export ACCESS_TOKEN=<an access token for your API> first):');
  console.log('');
  const shown = issuer ? steps : [
    { title: '200 if your token has scope read:messages, else 403', path: '/api/messages', shownToken: '$ACCESS_TOKEN' },
    { title: '200 if your token has scope admin, else 403', path: '/api/admin', shownToken: '$ACCESS_TOKEN' },
    { title: 'no token', path: '/api/messages', expect: 401 },
  ];
  for (const step of shown) {
    console.log(`  # ${step.expect === undefined ? step.title : `${step.expect}: ${step.title}`}`);
    console.log(`  ${curl(step)}`);
    console.log('');
  }
  console.log('Serving until Ctrl-C.');
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.log('\nStopping.');
      stop().catch((error) => {
        console.error(error);
        process.exitCode = 1;
      });
    });
  }
}
