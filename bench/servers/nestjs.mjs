// NestJS on the Express platform for the end-to-end benchmark, one process per run. The
// decorators are applied by calls (this file is plain JavaScript).
//   BENCH_FIXTURE  JSON file written by bench/e2e.mjs: { issuer, audience, ... }
//   BENCH_AUTH     none | monocloud
// Prints one JSON line {"ready":true,"port":N} on stdout once it listens on 127.0.0.1.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';

import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';

const { issuer, audience } = JSON.parse(readFileSync(process.env.BENCH_FIXTURE, 'utf8'));
const auth = process.env.BENCH_AUTH ?? 'none';
if (auth !== 'none' && auth !== 'monocloud') throw new Error(`unknown BENCH_AUTH ${auth}`);

class DataController {
  data(request) {
    return { ok: true, sub: request.claims?.sub };
  }
}
const { Req } = await import('@nestjs/common');
const descriptor = Object.getOwnPropertyDescriptor(DataController.prototype, 'data');
Get('data')(DataController.prototype, 'data', descriptor);
Req()(DataController.prototype, 'data', 0);
Controller('api')(DataController);

const imports = [];
if (auth === 'monocloud') {
  const { MonoCloudGuard, MonoCloudModule } = await import('@monocloud/backend-node-rs/nestjs');
  imports.push(MonoCloudModule.forRoot({ tenantDomain: issuer, audience }));
  UseGuards(MonoCloudGuard)(DataController);
}
class AppModule {}
Module({ imports, controllers: [DataController] })(AppModule);

const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
app.getHttpAdapter().getInstance().disable('x-powered-by');
await app.listen(0, '127.0.0.1');
const server = app.getHttpServer();
server.keepAliveTimeout = 65_000;
process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
process.on('SIGTERM', () => {
  server.closeAllConnections();
  app.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
