// Compiled with `tsc --noEmit` against @types/express 4 and 5 by __tests__/package/types.test.mjs.
// The first part is MonoCloud's Express guides as written, with only the import specifier
// changed (and no dotenv, which this repository does not install).
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import {
  MonoCloudBackendNodeClient,
  MonoCloudTokenError,
  claimCheck,
  claimEquals,
  claimIncludes,
  protectApi,
  requiredScopes,
  type AccessTokenClaims,
  type AuthenticatedExpressRequest,
  type ClaimCheck,
  type ClientCertificateResolver,
  type IIntrospectionCache,
  type MonoCloudBackendNodeClientOptions,
  type ProtectApiRequestOptions,
  type ProtectMiddleware,
  type ProtectOptions,
  type TokenResolver,
} from '@monocloud/backend-node-rs/express';

// --- The guides -------------------------------------------------------------------------
const app = express();
const protect = protectApi();

app.use(express.json());
app.use(protect());

app.get('/api/protected', (req, res) => {
  const { claims } = req as AuthenticatedExpressRequest;

  res.json({
    message: 'Protected endpoint',
    claims,
  });
});

app.get('/api/public', (req, res) => {
  res.json({ message: 'Public data' });
});

app.get('/api/admin', protect({ scopes: ['write'] }), (req, res) => {
  const { claims } = req as AuthenticatedExpressRequest;
  res.json({ claims });
});

app.get('/api/team', protect({ groups: ['engineering'] }), (req, res) => {
  res.json({ message: 'team access granted' });
});

app.post('/api/posts', protect({ scopes: ['posts:write'] }), (req, res) => {
  res.status(201).end();
});

const publicClient = new MonoCloudBackendNodeClient();
const adminClient = new MonoCloudBackendNodeClient({
  tenantDomain: process.env.ADMIN_API_TENANT_DOMAIN,
  audience: process.env.ADMIN_API_AUDIENCE,
});
const protectPublicApi = protectApi(publicClient);
const protectAdminApi = protectApi(adminClient, {
  tokenResolver: async (req) => req.headers['x-access-token'] as string | undefined,
  certificateResolver: async (req) => req.headers['x-client-cert'] as string,
});
app.get('/api/data', protectPublicApi(), (req, res) => {
  res.json((req as AuthenticatedExpressRequest).claims);
});
app.get('/api/secure', protectAdminApi(), (req, res) => {
  res.json((req as AuthenticatedExpressRequest).claims);
});

app.listen(3000, () => {
  console.log('Server running on http://localhost:3000');
});

// --- Claim checks ----------------------------------------------------------------------
app.get(
  '/api/messages',
  protect(),
  requiredScopes('read:messages'),
  requiredScopes(['a', 'b'], 'c d'),
  claimEquals('tenant', 'acme'),
  claimEquals('tier', 2),
  claimIncludes('roles', 'editor', 'viewer'),
  claimCheck((claims) => claims.sub.startsWith('user-')),
  (req: Request, res: Response) => {
    res.json((req as AuthenticatedExpressRequest).claims.sub);
  },
);
app.get('/api/reports', protect({ scopes: ['read'], groups: ['staff'], checks: [requiredScopes('read'), claimEquals('tenant', null)] }));

const router = express.Router();
router.use(protect(), requiredScopes('admin'));
app.use('/admin', router);

// --- Custom claims ----------------------------------------------------------------------
interface TenantClaims extends AccessTokenClaims {
  tenant: string;
  roles: string[];
}

const protectTenant: ProtectMiddleware<TenantClaims> = protectApi<TenantClaims>({
  audience: 'https://api.example.com',
  clockTolerance: 5,
  tokenResolver: async (req: Request) => req.get('x-token'),
});
const tenantCheck: ClaimCheck<TenantClaims> = claimCheck<TenantClaims>(async (claims) => claims.roles.includes('admin'));
app.get('/api/tenant', protectTenant({ checks: [tenantCheck, claimEquals('tenant', 'acme')] }), (req, res) => {
  const claims: TenantClaims = (req as AuthenticatedExpressRequest<TenantClaims>).claims;
  res.json({ tenant: claims.tenant });
});

// --- The types on their own ------------------------------------------------------------
const middleware: (req: Request, res: Response, next: NextFunction) => Promise<void> = protect();
void middleware;
const options: ProtectOptions = { scopes: ['a'], groups: ['b'], checks: [requiredScopes('a')], acrValues: ['phr'], maxAge: 300 };
const requestOptions: ProtectApiRequestOptions<Request> = { tokenResolver: async () => undefined };
const resolver: TokenResolver<Request> = (req) => req.headers.authorization;
const certificateResolver: ClientCertificateResolver<Request> = async () => 'MIIB';
const clientOptions: Partial<MonoCloudBackendNodeClientOptions> = {
  introspectJwtTokens: true,
  requireTokenType: 'at+jwt',
  maxTokenAge: 600,
  challenge: { realm: 'api', describe: true },
};
const cache: IIntrospectionCache = {
  async get() {
    return null;
  },
  async set() {},
  async delete() {},
};
protectApi({ ...clientOptions, cache, tokenResolver: resolver, certificateResolver });
protectApi(publicClient, requestOptions)(options);
const error: unknown = new MonoCloudTokenError('x', 'insufficient_scope');
if (error instanceof MonoCloudTokenError) {
  error.code satisfies
    | 'invalid_token'
    | 'inactive_token'
    | 'insufficient_scope'
    | 'insufficient_groups'
    | 'invalid_dpop_proof'
    | 'use_dpop_nonce'
    | 'invalid_request'
    | 'insufficient_user_authentication';
  // DPoP refusals carry their answer.
  error.status satisfies number | undefined;
  error.headers satisfies Record<string, string> | undefined;
}
protectApi({ ...clientOptions, dpop: { mode: 'required', algorithms: ['ES256'], replayStore: { reserve: async () => true } } });
protectApi({ ...clientOptions, dpop: { replayStore: false, nonceSecret: 'x'.repeat(32), publicUrl: 'https://api.example.com' } });
publicClient.validateRequest({ method: 'GET', url: 'https://api.example.com/x', headers: { authorization: 'DPoP t' } }, { scopes: ['read'] }) satisfies Promise<unknown>;

// --- What must not compile ---------------------------------------------------------------
// @ts-expect-error scopes are a list
protect({ scopes: 'read' });
// @ts-expect-error there is no such DPoP mode
protectApi({ ...clientOptions, dpop: { mode: 'sometimes' } });
// @ts-expect-error a replay store is false or has reserve
protectApi({ ...clientOptions, dpop: { replayStore: true } });
// @ts-expect-error with a client, protectApi takes no client options
protectApi(publicClient, { audience: 'https://api.example.com' });
// @ts-expect-error a claim check compares with primitives
claimEquals('tenant', { id: 1 });
// @ts-expect-error the custom claims type is checked
claimCheck<TenantClaims>((claims) => claims.tenant === 1);
