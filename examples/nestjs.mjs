// NestJS with MonoCloud on the Express platform (pass PLATFORM=fastify for Fastify). In
// TypeScript the calls below are the decorators `@Controller('api')`, `@Get('protected')`,
// `@Protected({ scopes: ['write'] })`, `@Public()` and `@Claims()`; this file is plain
// JavaScript, so it applies them by hand. Configure with MONOCLOUD_BACKEND_TENANT_DOMAIN and
// MONOCLOUD_BACKEND_AUDIENCE; PORT and HOST are optional.
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Claims, MonoCloudGuard, MonoCloudModule, Protected, Public } from '@monocloud/backend-node-rs/nestjs';

class ApiController {
  publicData() {
    return { message: 'Public data' };
  }
  protectedData(claims) {
    return { message: 'Protected endpoint', claims };
  }
  admin(claims) {
    return { claims };
  }
  greeting(claims) {
    return { message: claims ? `Hello ${claims.sub}` : 'Hello guest' };
  }
}
const routes = [
  ['publicData', 'public', Public()],
  ['protectedData', 'protected'],
  ['admin', 'admin', Protected({ scopes: ['write'] })],
  ['greeting', 'greeting', Protected({ optional: true })],
];
for (const [name, path, ...decorators] of routes) {
  const descriptor = Object.getOwnPropertyDescriptor(ApiController.prototype, name);
  for (const decorate of [Get(path), ...decorators]) decorate(ApiController.prototype, name, descriptor);
  if (name !== 'publicData') Claims()(ApiController.prototype, name, 0);
}
Controller('api')(ApiController);

// Every route is guarded (APP_GUARD) unless it is @Public().
class AppModule {}
Module({
  imports: [MonoCloudModule.forRoot()],
  controllers: [ApiController],
  providers: [{ provide: APP_GUARD, useClass: MonoCloudGuard }],
})(AppModule);

const platform = process.env.PLATFORM === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(AppModule, platform, { logger: ['error'] });
const host = process.env.HOST ?? '127.0.0.1';
await app.listen(Number(process.env.PORT ?? 3000), host);
console.log(`Server running on http://${host}:${app.getHttpServer().address().port}`);
