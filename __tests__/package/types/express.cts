// The CommonJS side of the Express types (`require` condition, index.d.ts).
import express = require('express');
import adapter = require('@monocloud/backend-node-rs/express');

const app = express();
const protect = adapter.protectApi();
app.get('/x', protect({ scopes: ['read'] }), adapter.requiredScopes('read'), (req, res) => {
  res.json((req as adapter.AuthenticatedExpressRequest).claims.sub);
});
export = app;
