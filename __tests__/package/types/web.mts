// Compiled with `tsc --noEmit` by __tests__/package/types.test.mjs: the web-standard adapter as
// a Next.js App Router route file would use it, and what must not compile.
import { protectApi, requiredScopes, type AccessTokenClaims, type ProtectOptions } from '@monocloud/backend-node-rs/web';

interface TenantClaims extends AccessTokenClaims {
  tenant: string;
}

const { protect, withProtectApi } = protectApi<TenantClaims>({ audience: 'https://api.example.com' });

// app/api/items/[id]/route.ts
export const GET = withProtectApi<{ params: Promise<{ id: string }> }>(
  async (request, { params }, claims) => {
    const { id } = await params;
    const tenant: string = claims.tenant;
    return Response.json({ id, tenant, url: request.url });
  },
  { scopes: ['read:items'], checks: [requiredScopes('read:items')] },
);

export async function POST(request: Request): Promise<Response> {
  const result = await protect(request, { groups: ['writers'] });
  if (result instanceof Response) return result;
  const sub: string = result.claims.sub;
  return Response.json({ sub });
}

const options: ProtectOptions<TenantClaims> = { scopes: ['read'] };
void protect(new Request('http://localhost/'), options);

export async function PUT(request: Request): Promise<Response> {
  const result = await protect(request, { optional: true });
  if (result instanceof Response) return result;
  // @ts-expect-error claims may be undefined on an optional route
  const sub: string = result.claims.sub;
  return Response.json({ sub, tenant: result.claims?.tenant ?? null });
}

export const PATCH = withProtectApi((request, context, claims) => Response.json({ sub: claims?.sub ?? null }), { optional: true });

// @ts-expect-error route options are checked
void protect(new Request('http://localhost/'), { scopes: 'read' });
// @ts-expect-error the handler must return a Response
withProtectApi(async () => ({ not: 'a response' }));
