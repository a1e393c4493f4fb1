// Plain node:http with MonoCloud: protectRequest answers refused requests itself. Configure with
// MONOCLOUD_BACKEND_TENANT_DOMAIN and MONOCLOUD_BACKEND_AUDIENCE; PORT and HOST are optional.
import { createServer } from 'node:http';
import { protectApi } from '@monocloud/backend-node-rs/node';

const protectRequest = protectApi();

function json(res, body) {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

const server = createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname === '/api/public') return json(res, { message: 'Public data' });
  const options = { '/api/protected': {}, '/api/admin': { scopes: ['write'] }, '/api/greeting': { optional: true } }[pathname];
  if (!options) return res.writeHead(404).end();

  const passed = await protectRequest(req, res, options);
  if (!passed) return; // refused: already answered
  const { claims } = passed;
  if (pathname === '/api/greeting') return json(res, { message: claims ? `Hello ${claims.sub}` : 'Hello guest' });
  json(res, pathname === '/api/protected' ? { message: 'Protected endpoint', claims } : { claims });
});

const host = process.env.HOST ?? '127.0.0.1';
server.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`Server running on http://${host}:${server.address().port}`);
});
