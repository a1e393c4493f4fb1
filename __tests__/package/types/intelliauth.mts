// Compiled with `tsc --noEmit` by __tests__/package/types.test.mjs, with seed 004's programs
// (examples/intelliauth/): req.user's claims are typed, and what must not compile does not.
import express from 'express';
import {
  ManagementApiError,
  ManagementClient,
  type IntelliAuthUser,
  type ManagementClientOptions,
} from '@monocloud/backend-node-rs/intelliauth';
import { requireSession, type RequireSessionOptions } from '@monocloud/backend-node-rs/intelliauth/express';
import { MonoCloudTokenClient, type AccessTokenResult, type MonoCloudTokenEvent } from '@monocloud/backend-node-rs';

const options: RequireSessionOptions = { tenantUrl: 'https://tenant.example', audience: 'api.example', checkRevocation: true, clientId: 'c' };
const app = express();
app.get('/claims', requireSession(options), (req, res) => {
  const user: IntelliAuthUser = req.user;
  const sub: string = req.user.sub;
  const email: string | undefined = req.user.email;
  const groups: string[] | undefined = req.user.groups;
  // @ts-expect-error sub is a string
  const wrong: number = req.user.sub;
  res.json({ user, sub, email, groups, wrong });
});

const management: ManagementClientOptions = { tenantUrl: 't', clientId: 'c', clientSecret: 's', managementApiBase: 'https://m.example/api' };
const mgmt = new ManagementClient(management);
const response: Promise<Response> = mgmt.fetch('users', { method: 'GET' });
void response;
void ManagementApiError;
// @ts-expect-error requireSession needs an audience
requireSession({ tenantUrl: 't' });

const tokens = new MonoCloudTokenClient({ refreshSkew: 30, onEvent: (event: MonoCloudTokenEvent) => void event.type });
const token: Promise<AccessTokenResult> = tokens.getAccessToken({ scopes: ['a'], resource: 'https://api.example', audience: 'x' });
void token;
const fetched: Promise<Response> = tokens.fetch('https://api.example/things', { method: 'POST' }, { scopes: 'a b' });
void fetched;
