// An MCP server on Fastify behind protectApi (our challenges, DPoP and step-up), with our
// protected resource metadata. Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN and MCP_RESOURCE
// (this server's public URL of /mcp, which tokens must name as their audience); PORT and HOST
// are optional.
import Fastify from 'fastify';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { protectApi, protectedResourceMetadata } from '@monocloud/backend-node-rs/fastify';

const resource = process.env.MCP_RESOURCE ?? 'http://127.0.0.1:3000/mcp';
const options = {
  audience: resource,
  protectedResource: { resource, scopesSupported: ['tools:call'] },
};

const fastify = Fastify();
await fastify.register(protectedResourceMetadata(options));
const protect = protectApi(options);
fastify.post('/mcp', { preHandler: protect({ scopes: ['tools:call'] }) }, async (request, reply) => {
  const server = new McpServer({ name: 'things', version: '1.0.0' });
  server.tool('whoami', 'Who is calling', async () => ({
    content: [{ type: 'text', text: `${request.claims.client_id} (${request.claims.scope})` }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  reply.raw.on('close', () => {
    transport.close();
    server.close();
  });
  reply.hijack();
  await server.connect(transport);
  await transport.handleRequest(request.raw, reply.raw, request.body);
});
fastify.get('/mcp', async (request, reply) => reply.code(405).header('allow', 'POST').send());

const host = process.env.HOST ?? '127.0.0.1';
const address = await fastify.listen({ port: Number(process.env.PORT ?? 3000), host });
console.log(`Server running on ${address}`);
