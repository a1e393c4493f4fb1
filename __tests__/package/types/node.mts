// Compiled with `tsc --noEmit` by __tests__/package/types.test.mjs: the node:http adapter and
// what must not compile.
import { createServer } from 'node:http';
import { protectApi, type AccessTokenClaims } from '@monocloud/backend-node-rs/node';

interface TenantClaims extends AccessTokenClaims {
  tenant: string;
}

const protectRequest = protectApi<TenantClaims>({ audience: 'https://api.example.com' });

createServer(async (req, res) => {
  const passed = await protectRequest(req, res, { scopes: ['read'] });
  if (!passed) return;
  const tenant: string = passed.claims.tenant;
  res.end(tenant);
});

createServer(async (req, res) => {
  // @ts-expect-error it may have answered: the result must be checked first
  const tenant: string = (await protectRequest(req, res)).claims.tenant;
  res.end(tenant);
});

createServer(async (req, res) => {
  const passed = await protectRequest(req, res, { optional: true });
  if (!passed) return;
  // @ts-expect-error claims may be undefined on an optional route
  const tenant: string = passed.claims.tenant;
  res.end(passed.claims?.tenant ?? tenant);
});
