// The MonoCloud Fastify introspection guide: an app-wide onRequest hook, with every token
// (JWTs included) validated by the authorization server's introspection endpoint.
// Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN, MONOCLOUD_BACKEND_AUDIENCE,
// MONOCLOUD_BACKEND_CLIENT_ID, MONOCLOUD_BACKEND_CLIENT_SECRET and
// MONOCLOUD_BACKEND_INTROSPECT_JWT_TOKENS=true; PORT and HOST are optional.
import Fastify from 'fastify';
import { protectApi } from '@monocloud/backend-node-rs/fastify';

const app = Fastify();

const protect = protectApi();

// All routes require a valid access token (validated through introspection).
app.addHook('onRequest', protect());

app.get('/api/data', async (request) => {
  const { claims } = request; // AuthenticatedFastifyRequest in TypeScript
  return { claims };
});

app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' }, (err, address) => {
  if (err) throw err;
  console.log(`Server running on ${address}`);
});
