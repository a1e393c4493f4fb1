// IntelliAuth's Node quickstart (seed 004), steps 2 and 4, with only the import specifiers
// changed. Configure it as the guide does: INTELLIAUTH_TENANT_URL, INTELLIAUTH_M2M_CLIENT_ID,
// INTELLIAUTH_M2M_CLIENT_SECRET, and INTELLIAUTH_MANAGEMENT_API_BASE for the management API
// (its REST paths are the vendor's to document: check them before relying on them).
import express from 'express'
import { requireSession } from '@monocloud/backend-node-rs/intelliauth/express'
import { ManagementClient } from '@monocloud/backend-node-rs/intelliauth'

const app = express()

app.use(
  requireSession({
    tenantUrl: process.env.INTELLIAUTH_TENANT_URL!,
    audience: 'api.banking.cymmetri.com',
  }),
)

app.get('/me', (req, res) => {
  // req.user is fully typed and validated
  res.json({ sub: req.user.sub, email: req.user.email })
})

app.listen(3000)

const mgmt = new ManagementClient({
  tenantUrl: process.env.INTELLIAUTH_TENANT_URL!,
  clientId: process.env.INTELLIAUTH_M2M_CLIENT_ID!,
  clientSecret: process.env.INTELLIAUTH_M2M_CLIENT_SECRET!,
})

const user = await mgmt.users.get('usr_01HZX...')
const apps = await mgmt.applications.list({ limit: 50 })
