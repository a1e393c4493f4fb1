// Claim checks after protect(): scopes given as a string or an array, exact claim values,
// claims that must include values, and a custom rule. Also as protect({ checks }).
// Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN and MONOCLOUD_BACKEND_AUDIENCE; PORT and HOST
// are optional.
import express from 'express';
import {
  claimCheck,
  claimEquals,
  claimIncludes,
  protectApi,
  requiredScopes,
} from '@monocloud/backend-node-rs/express';

const app = express();
const protect = protectApi();

// 403 insufficient_scope unless the token has both scopes.
app.get('/api/messages', protect(), requiredScopes('read:messages write:messages'), (req, res) => {
  res.json({ messages: [], sub: req.claims.sub });
});

// 401 invalid_token unless `tenant` is exactly "acme" and `roles` includes "editor".
app.get('/api/acme/articles', protect(), claimEquals('tenant', 'acme'), claimIncludes('roles', 'editor'), (req, res) => {
  res.json({ articles: [] });
});

// The same rules as options, which Fastify's protect() accepts too.
app.get(
  '/api/reports',
  protect({ checks: [requiredScopes(['read:reports']), claimCheck((claims) => claims.email_verified === true)] }),
  (req, res) => {
    res.json({ reports: [] });
  },
);

const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`Server running on http://${host}:${server.address().port}`);
});
