// Per-route protection from the MonoCloud Express guide: a public route, a protected route,
// and routes that require a scope or a group.
// Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN and MONOCLOUD_BACKEND_AUDIENCE; PORT and HOST
// are optional.
import express from 'express';
import { protectApi } from '@monocloud/backend-node-rs/express';

const app = express();
const protect = protectApi();

app.use(express.json());

// Public route: no token required.
app.get('/api/public', (req, res) => {
  res.json({ message: 'Public data' });
});

// Any valid access token.
app.get('/api/protected', protect(), (req, res) => {
  res.json({ claims: req.claims });
});

// 403 unless the token has the `write` scope.
app.get('/api/admin', protect({ scopes: ['write'] }), (req, res) => {
  res.json({ claims: req.claims });
});

// 403 unless the user is in the `engineering` group.
app.get('/api/team', protect({ groups: ['engineering'] }), (req, res) => {
  res.json({ message: 'team access granted', claims: req.claims });
});

const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`Server running on http://${host}:${server.address().port}`);
});
