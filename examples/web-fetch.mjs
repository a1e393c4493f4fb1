// Web-standard route handlers, as a Next.js App Router route file exports them (GET, POST...),
// served here by @hono/node-server so that the file runs on its own. Configure with
// MONOCLOUD_BACKEND_TENANT_DOMAIN and MONOCLOUD_BACKEND_AUDIENCE; PORT and HOST are optional.
import { serve } from '@hono/node-server';
import { protectApi } from '@monocloud/backend-node-rs/web';

const { protect, withProtectApi } = protectApi();

// app/api/protected/route.ts: export const GET = withProtectApi(...)
const protectedRoute = withProtectApi((request, context, claims) => Response.json({ message: 'Protected endpoint', claims }));

// app/api/admin/route.ts: the same with a required scope.
const adminRoute = withProtectApi((request, context, claims) => Response.json({ claims }), { scopes: ['write'] });

// app/api/greeting/route.ts: anonymous callers welcome, signed-in ones greeted by name.
async function greetingRoute(request) {
  const result = await protect(request, { optional: true });
  if (result instanceof Response) return result;
  return Response.json({ message: result.claims ? `Hello ${result.claims.sub}` : 'Hello guest' });
}

const routes = {
  '/api/public': () => Response.json({ message: 'Public data' }),
  '/api/protected': protectedRoute,
  '/api/admin': adminRoute,
  '/api/greeting': greetingRoute,
};

const host = process.env.HOST ?? '127.0.0.1';
serve(
  {
    port: Number(process.env.PORT ?? 3000),
    hostname: host,
    fetch: (request) => routes[new URL(request.url).pathname]?.(request, {}) ?? new Response('Not Found', { status: 404 }),
  },
  (info) => console.log(`Server running on http://${host}:${info.port}`),
);
