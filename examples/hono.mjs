// Hono with MonoCloud: claims in c.var.claims. Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN and
// MONOCLOUD_BACKEND_AUDIENCE; PORT and HOST are optional.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { protectApi } from '@monocloud/backend-node-rs/hono';

const protect = protectApi();
const app = new Hono();

app.get('/api/public', (c) => c.json({ message: 'Public data' }));
app.get('/api/protected', protect(), (c) => c.json({ message: 'Protected endpoint', claims: c.var.claims }));
app.get('/api/admin', protect({ scopes: ['write'] }), (c) => c.json({ claims: c.var.claims }));
app.get('/api/greeting', protect({ optional: true }), (c) =>
  c.json({ message: c.var.claims ? `Hello ${c.var.claims.sub}` : 'Hello guest' }),
);

const host = process.env.HOST ?? '127.0.0.1';
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: host }, (info) => {
  console.log(`Server running on http://${host}:${info.port}`);
});
