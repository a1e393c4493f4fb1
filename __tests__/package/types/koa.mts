// Compiled with `tsc --noEmit` by __tests__/package/types.test.mjs: the Koa adapter and what
// must not compile.
import Koa from 'koa';
import { protectApi, protectedResourceMetadata, type AccessTokenClaims, type ProtectState } from '@monocloud/backend-node-rs/koa';

const protect = protectApi({ audience: 'https://api.example.com', tokenResolver: (ctx) => ctx.cookies.get('token') });

const app = new Koa<ProtectState<AccessTokenClaims>>();
app.use(protectedResourceMetadata({ protectedResource: { resource: 'https://api.example.com/mcp' } }));
app.use(protect({ scopes: ['read'] }));
app.use((ctx) => {
  const sub: string = ctx.state.claims.sub;
  ctx.body = { sub };
});

// @ts-expect-error route options are checked
protect({ scopes: 7 });
// @ts-expect-error the resolver gets the Koa context
protectApi({ tokenResolver: (ctx: { nope: true }) => String(ctx.nope) });
