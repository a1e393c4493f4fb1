// IntelliAuth's Node quickstart (seed 004), step 3: the middleware per route, with only the
// import specifier changed.
import express from 'express'
import { requireSession } from '@monocloud/backend-node-rs/intelliauth/express'

const app = express()

const auth = requireSession({
  tenantUrl: process.env.INTELLIAUTH_TENANT_URL!,
  audience: 'api.banking.cymmetri.com',
})

app.get('/public', (req, res) => res.send('open to anyone'))
app.get('/private', auth, (req, res) => res.json({ user: req.user }))

app.listen(3000)
