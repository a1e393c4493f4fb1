// An MCP server on Express behind the MCP SDK's own bearer middleware, with our verifier and our
// protected resource metadata. Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN and MCP_RESOURCE
// (this server's public URL of /mcp, which tokens must name as their audience); PORT and HOST
// are optional.
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { MonoCloudBackendNodeClient, protectedResourceMetadata } from '@monocloud/backend-node-rs/express';
import { mcpTokenVerifier } from '@monocloud/backend-node-rs/mcp';

const resource = process.env.MCP_RESOURCE ?? 'http://127.0.0.1:3000/mcp';
const client = new MonoCloudBackendNodeClient({
  audience: resource,
  protectedResource: { resource, scopesSupported: ['tools:call'] },
});

const app = express();
app.use(express.json());
app.use(protectedResourceMetadata(client));
app.post(
  '/mcp',
  requireBearerAuth({
    verifier: mcpTokenVerifier(client),
    requiredScopes: ['tools:call'],
    resourceMetadataUrl: client.getProtectedResourceMetadataUrl(),
  }),
  async (req, res) => {
    const server = new McpServer({ name: 'things', version: '1.0.0' });
    server.tool('whoami', 'Who is calling', async ({ authInfo }) => ({
      content: [{ type: 'text', text: `${authInfo.clientId} (${authInfo.scopes.join(' ')})` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  },
);
app.get('/mcp', (req, res) => res.status(405).set('allow', 'POST').end());

const host = process.env.HOST ?? '127.0.0.1';
const listener = app.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`Server running on http://${host}:${listener.address().port}`);
});
