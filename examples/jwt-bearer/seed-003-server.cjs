// Seed 003's complete example (Auth0's Express API guide), with only the import specifier
// changed from 'express-oauth2-jwt-bearer' to '@monocloud/backend-node-rs/jwt-bearer'.
// server.js
require('dotenv').config();
const express = require('express');
const cors = require('cors');
const {
auth,
requiredScopes,
claimCheck,
UnauthorizedError,
InsufficientScopeError,
} = require('@monocloud/backend-node-rs/jwt-bearer');
const app = express();
const port = process.env.PORT || 3000;
// Middleware
app.use(cors({
origin: process.env.ALLOWED_ORIGIN || '*',
exposedHeaders: ['WWW-Authenticate'],
}));
app.use(express.json());
// JWT validation middleware
const checkJwt = auth({
issuerBaseURL: `https://${process.env.AUTH0_DOMAIN}`,
audience: process.env.AUTH0_AUDIENCE,
});
// Public endpoints
app.get('/api/public', (req, res) => {
res.json({ message: 'Public endpoint - no authentication required' });
});
app.get('/health', (req, res) => {
res.json({ status: 'healthy' });
});
// Protected endpoints
app.get('/api/private', checkJwt, (req, res) => {
res.json({
message: 'Private endpoint',
user: req.auth.payload.sub,
});
});
// Scope-protected endpoint
app.get('/api/messages', checkJwt, requiredScopes('read:messages'), (req, res) => {
res.json({
messages: [
{ id: 1, text: 'Hello from the API!' },
],
});
});
// Admin endpoint with scope and claim check
app.get('/api/admin',
checkJwt,
requiredScopes('admin:access'),
claimCheck((claims) => claims.role === 'admin'),
(req, res) => {
res.json({
message: 'Admin access granted',
userId: req.auth.payload.sub,
});
}
);
// Error handling
app.use((err, req, res, next) => {
console.error('Error:', err.message);
if (err instanceof InsufficientScopeError) {
return res.status(403).json({
error: 'insufficient_scope',
message: 'Missing required permissions',
});
}
if (err instanceof UnauthorizedError) {
return res.status(err.status).set(err.headers).json({
error: err.code || 'unauthorized',
message: 'Authentication required',
});
}
res.status(500).json({
error: 'server_error',
message: 'An unexpected error occurred',
});
});
app.listen(port, () => {
console.log(`🚀 API server running at http://localhost:${port}`);
console.log(` - Public: http://localhost:${port}/api/public`);
console.log(` - Private: http://localhost:${port}/api/private`);
});
