// The life of a node:http benchmark server: say it is ready, keep the load generator's keep-alive
// sockets for the run, and close them all on SIGTERM so that no socket outlives it.
export function announceWhenListening(server) {
  server.keepAliveTimeout = 65_000;
  const announce = () => process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
  if (server.listening) announce();
  else server.once('listening', announce);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
