// A NestJS app on both platforms, run from a folder holding one NestJS major (see
// __tests__/adapters/nestjs-versions.test.mjs), so that our /nestjs entry meets that version's
// @nestjs/common and @nestjs/core. Reads NEST_ISSUER, NEST_AUDIENCE and NEST_TOKENS (JSON: name →
// token); prints one JSON line: per platform, the status, WWW-Authenticate and body of each
// request.
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { APP_GUARD, NestFactory } = require('@nestjs/core');
const { ExpressAdapter } = require('@nestjs/platform-express');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const { Claims, MonoCloudGuard, MonoCloudModule, Protected, Public } = require('@monocloud/backend-node-rs/nestjs');

const tokens = JSON.parse(process.env.NEST_TOKENS);

// Decorated by calls: a .cjs file has no decorator syntax.
class ItemsController {
  list(claims) {
    return { sub: claims.sub };
  }
  admin(sub) {
    return { sub };
  }
  health() {
    return { ok: true };
  }
}
const method = (name) => Object.getOwnPropertyDescriptor(ItemsController.prototype, name);
Get()(ItemsController.prototype, 'list', method('list'));
Claims()(ItemsController.prototype, 'list', 0);
Get('admin')(ItemsController.prototype, 'admin', method('admin'));
Protected({ scopes: ['admin'] })(ItemsController.prototype, 'admin', method('admin'));
Claims('sub')(ItemsController.prototype, 'admin', 0);
Get('health')(ItemsController.prototype, 'health', method('health'));
Public()(ItemsController.prototype, 'health', method('health'));
Protected({ scopes: ['read:items'] })(ItemsController);
Controller('items')(ItemsController);

class AppModule {}
Module({
  imports: [MonoCloudModule.forRoot({ tenantDomain: process.env.NEST_ISSUER, audience: process.env.NEST_AUDIENCE })],
  controllers: [ItemsController],
  providers: [{ provide: APP_GUARD, useClass: MonoCloudGuard }],
})(AppModule);

async function requests(url) {
  const asked = [
    ['no token', '/items', undefined],
    ['reader', '/items', tokens.reader],
    ['reader on admin', '/items/admin', tokens.reader],
    ['admin', '/items/admin', tokens.admin],
    ['expired', '/items', tokens.expired],
    ['public', '/items/health', undefined],
  ];
  const answers = {};
  for (const [name, path, token] of asked) {
    const response = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    answers[name] = {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: await response.json().catch(() => null),
    };
  }
  return answers;
}

async function main() {
  const result = { nest: require('@nestjs/core/package.json').version };
  for (const [platform, Adapter] of [['express', ExpressAdapter], ['fastify', FastifyAdapter]]) {
    const app = await NestFactory.create(AppModule, new Adapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    try {
      result[platform] = await requests(`http://127.0.0.1:${port}`);
    } finally {
      await app.close();
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
