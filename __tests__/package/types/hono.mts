// Compiled with `tsc --noEmit` by __tests__/package/types.test.mjs: the Hono adapter, claims
// typed through Hono's Variables, and what must not compile.
import { Hono } from 'hono';
import { protectApi, protectedResourceMetadata, type AccessTokenClaims, type ProtectEnv } from '@monocloud/backend-node-rs/hono';

interface TenantClaims extends AccessTokenClaims {
  tenant: string;
}

const protect = protectApi<TenantClaims>({ audience: 'https://api.example.com' });

const app = new Hono<ProtectEnv<TenantClaims>>();
app.use(protectedResourceMetadata({ protectedResource: { resource: 'https://api.example.com/mcp' } }));
app.use('/api/*', protect());
app.get('/api/me', (c) => {
  const tenant: string = c.var.claims.tenant;
  const sub: string = c.get('claims').sub;
  return c.json({ tenant, sub });
});
app.get('/api/admin', protect({ scopes: ['admin'] }), (c) => c.json({ sub: c.var.claims.sub }));

// Without declaring the env on the app, the route's middleware still types c.var.claims, as
// possibly undefined on an optional route.
const plain = new Hono();
plain.get('/x', protect({ optional: true }), (c) => c.json({ tenant: c.var.claims?.tenant ?? null }));
plain.get('/y', protect({ scopes: ['read'] }), (c) => c.json({ tenant: c.var.claims.tenant }));
plain.get('/z', protect({ optional: true }), (c) => {
  // @ts-expect-error claims may be undefined on an optional route
  const tenant: string = c.var.claims.tenant;
  return c.text(tenant);
});

app.get('/wrong', (c) => {
  // @ts-expect-error claims are not a string
  const wrong: string = c.var.claims;
  return c.text(wrong);
});
// @ts-expect-error route options are checked
protect({ groups: 'admins' });
export default app;
