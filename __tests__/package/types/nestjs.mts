// Compiled with `tsc --noEmit` (experimentalDecorators, emitDecoratorMetadata) by
// __tests__/package/types.test.mjs: a NestJS app with the module, the guard and the decorators.
import { Controller, Get, Injectable, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  Claims,
  MonoCloudBackendNodeClient,
  MonoCloudGuard,
  MonoCloudModule,
  Protected,
  Public,
  claimEquals,
  protectedResourceMetadata,
  type AccessTokenClaims,
} from '@monocloud/backend-node-rs/nestjs';

@Injectable()
class Settings {
  readonly audience = 'https://api.example.com';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

@Controller('items')
@UseGuards(MonoCloudGuard)
@Protected({ scopes: ['read:items'] })
class ItemsController {
  constructor(private readonly client: MonoCloudBackendNodeClient) {}

  @Get()
  list(@Claims() claims: AccessTokenClaims) {
    return { sub: claims.sub, client: this.client instanceof MonoCloudBackendNodeClient };
  }

  @Get('admin')
  @Protected({ scopes: ['admin'], checks: [claimEquals('tier', 'gold')] })
  admin(@Claims('sub') sub: string) {
    return { sub };
  }

  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }

  @Get('maybe')
  @Protected({ optional: true })
  maybe(@Claims() claims: AccessTokenClaims | undefined) {
    return { anonymous: claims === undefined };
  }
}

@Module({
  imports: [
    MonoCloudModule.forRootAsync({
      imports: [SettingsModule],
      inject: [Settings],
      useFactory: (settings: Settings) => ({ audience: settings.audience }),
    }),
  ],
  controllers: [ItemsController],
  providers: [{ provide: APP_GUARD, useClass: MonoCloudGuard }],
})
export class AppModule {}

MonoCloudModule.forRoot({ tenantDomain: 'https://acme.us.monocloud.com' });
MonoCloudModule.forRoot(new MonoCloudBackendNodeClient());

// @ts-expect-error route options are checked
Protected({ scopes: 'admin' });
// @ts-expect-error the factory is required
MonoCloudModule.forRootAsync({ inject: [Settings] });

// The metadata as Nest's functional middleware, over the module's client: `app.use(...)`.
export function serveMetadata(app: INestApplication): void {
  app.use(protectedResourceMetadata(app.get(MonoCloudBackendNodeClient)));
}
