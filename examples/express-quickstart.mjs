// The MonoCloud Express quickstart: every route behind protect(), app-wide.
// Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN and MONOCLOUD_BACKEND_AUDIENCE
// (e.g. `node --env-file=.env examples/express-quickstart.mjs`); PORT and HOST are optional.
import express from 'express';
import { protectApi } from '@monocloud/backend-node-rs/express';

const app = express();
const protect = protectApi();

app.use(express.json());
app.use(protect());

app.get('/api/protected', (req, res) => {
  const { claims } = req; // AuthenticatedExpressRequest in TypeScript

  res.json({
    message: 'Protected endpoint',
    claims,
  });
});

const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`Server running on http://${host}:${server.address().port}`);
});
