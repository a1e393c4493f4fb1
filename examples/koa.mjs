// Koa with MonoCloud: claims in ctx.state.claims. Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN
// and MONOCLOUD_BACKEND_AUDIENCE; PORT and HOST are optional.
import Koa from 'koa';
import { protectApi } from '@monocloud/backend-node-rs/koa';

const protect = protectApi();

// A route table in a few lines; with @koa/router it is `router.get(path, protect(), handler)`.
const routes = {
  '/api/public': [(ctx) => (ctx.body = { message: 'Public data' })],
  '/api/protected': [protect(), (ctx) => (ctx.body = { message: 'Protected endpoint', claims: ctx.state.claims })],
  '/api/admin': [protect({ scopes: ['write'] }), (ctx) => (ctx.body = { claims: ctx.state.claims })],
  '/api/greeting': [
    protect({ optional: true }),
    (ctx) => (ctx.body = { message: ctx.state.claims ? `Hello ${ctx.state.claims.sub}` : 'Hello guest' }),
  ],
};

const app = new Koa();
app.use(async (ctx) => {
  const [guard, handler] = routes[ctx.path] ?? [];
  if (!guard) return;
  if (!handler) return guard(ctx);
  await guard(ctx, async () => handler(ctx));
});

const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`Server running on http://${host}:${server.address().port}`);
});
