// Compiled with `tsc --noEmit` against fastify 4 and 5 by __tests__/package/types.test.mjs.
// The first part is MonoCloud's Fastify guides as written, with only the import specifier
// changed (and no dotenv, which this repository does not install).
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  MonoCloudBackendNodeClient,
  claimCheck,
  claimEquals,
  claimIncludes,
  protectApi,
  requiredScopes,
  type AccessTokenClaims,
  type AuthenticatedFastifyRequest,
  type ProtectHook,
  type ProtectOptions,
} from '@monocloud/backend-node-rs/fastify';

// --- The guides -------------------------------------------------------------------------
const app = Fastify();

const protect = protectApi();

// All routes require a valid access token (validated through introspection)
app.addHook('onRequest', protect());

app.get('/api/data', async (request) => {
  const { claims } = request as AuthenticatedFastifyRequest;
  return { claims };
});

app.get('/api/public', async () => {
  return { message: 'Public data' };
});

app.get('/api/protected', { onRequest: protect() }, async (request) => {
  const { claims } = request as AuthenticatedFastifyRequest;
  return { message: 'Protected endpoint', claims };
});

app.get('/api/admin', { onRequest: protect({ scopes: ['write'] }) }, async (request) => {
  const { claims } = request as AuthenticatedFastifyRequest;
  return { claims };
});

app.delete('/api/posts/:id', { onRequest: protect({ groups: ['admin'] }) }, async (request, reply) => {
  reply.code(204);
});

app.register(async (instance) => {
  instance.addHook('onRequest', protect({ scopes: ['admin'] }));
  instance.get('/admin/users', async () => {
    return [];
  });
});

const client = new MonoCloudBackendNodeClient({
  tenantDomain: 'https://acme.us.monocloud.com',
  audience: 'https://api.example.com',
  introspectJwtTokens: false,
});
const protectWithClient = protectApi(client, {
  tokenResolver: async (req) => (req.headers['x-token'] as string | undefined),
  certificateResolver: async (req) => req.headers['x-client-cert'] as string | undefined,
});
app.get('/api/secure', { onRequest: protectWithClient() }, async (request) => (request as AuthenticatedFastifyRequest).claims);

app.listen({ port: 3000 }, (err, address) => {
  if (err) throw err;
  console.log(`Server running on ${address}`);
});

// --- Claim checks as options --------------------------------------------------------------
app.get(
  '/api/reports',
  { onRequest: [protect({ checks: [requiredScopes('read:reports'), claimEquals('tenant', 'acme'), claimIncludes('roles', 'editor')] })] },
  async (request) => (request as AuthenticatedFastifyRequest).claims.sub,
);

interface TenantClaims extends AccessTokenClaims {
  tenant: string;
}
const protectTenant: ProtectHook<TenantClaims> = protectApi<TenantClaims>({ audience: 'https://api.example.com' });
app.get(
  '/api/tenant',
  { onRequest: protectTenant({ checks: [claimCheck<TenantClaims>((claims) => claims.tenant === 'acme')] }) },
  async (request) => {
    const claims: TenantClaims = (request as AuthenticatedFastifyRequest<TenantClaims>).claims;
    return claims.tenant;
  },
);

// --- The types on their own ------------------------------------------------------------
const hook: (request: FastifyRequest, reply: FastifyReply) => Promise<void> = protect();
void hook;
const options: ProtectOptions = { scopes: ['a'], checks: [requiredScopes('a')] };
protect(options);

// @ts-expect-error scopes are a list
protect({ scopes: 'read' });
// @ts-expect-error with a client, protectApi takes no client options
protectApi(client, { clockTolerance: 1 });
