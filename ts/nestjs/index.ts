/**
 * NestJS (10 to 12) protection on the Express and the Fastify platform: `MonoCloudModule`, the
 * `MonoCloudGuard`, and the `@Protected()`, `@Public()` and `@Claims()` decorators.
 *
 * The package is built without decorator syntax: the decorators are Nest's own `SetMetadata` and
 * `createParamDecorator`, and the guard's injection is declared by calling `Injectable` and
 * `Inject`, so only an application using them needs `experimentalDecorators`.
 *
 * @packageDocumentation
 */
import type * as NestCommon from '@nestjs/common' with { 'resolution-mode': 'import' };
import type {
  CanActivate,
  DynamicModule,
  ExecutionContext,
  InjectionToken,
  ModuleMetadata,
  OptionalFactoryDependency,
} from '@nestjs/common' with { 'resolution-mode': 'import' };
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

import { MonoCloudBackendNodeClient } from '../client.js';
import { type Authentication, authenticate, createProtector, isThenable, type Protector } from '../protect/core.js';
import { metadataServer, pathOf } from '../protect/metadata.js';
import { checkRouteOptions } from '../protect/route-options.js';
import { describeIncoming } from '../protect/incoming.js';
import type { ProtectApiOptions, ProtectOptions } from '../protect/types.js';
import type { AccessTokenClaims, JwtClaims } from '../types.js';

// Nest 12 is published as ES modules only, Nest 10 and 11 as CommonJS: `require` takes both on the
// Node versions Nest 12 runs on, and TypeScript only needs to be told the types' resolution mode.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createParamDecorator, HttpException, Inject, Injectable, Module, SetMetadata }: typeof NestCommon =
  require('@nestjs/common');

// The client, the errors and every type, including the protect option types, as the root has them.
export * from '../index.js';
export { claimCheck, claimEquals, claimIncludes, requiredScopes, type ClaimValue } from '../claim-checks.js';

/** The request of either platform, as far as the guard reads it. */
export interface NestHttpRequest {
  headers: IncomingHttpHeaders;
  method?: string;
  protocol?: string;
  /** Express. */
  originalUrl?: string;
  /** Fastify, and Express's mount-relative path. */
  url?: string;
  claims?: unknown;
}

/** The injection token of the protector `MonoCloudModule` builds (its client and resolvers). */
export const MONOCLOUD_PROTECTOR = Symbol('MONOCLOUD_PROTECTOR');

const PROTECTED_METADATA = 'monocloud:protected';
const PUBLIC_METADATA = 'monocloud:public';

/**
 * What a route requires (scopes, groups, checks, `optional`), on a handler or a controller (the
 * handler's wins). A guarded route without it needs only a valid token.
 */
export function Protected<C extends JwtClaims = AccessTokenClaims>(
  options: ProtectOptions<C> = {},
): ClassDecorator & MethodDecorator {
  checkRouteOptions(options, '@Protected(options)');
  return SetMetadata(PROTECTED_METADATA, options);
}

/** Lets every request through the guard, on a handler or a whole controller. */
export function Public(): ClassDecorator & MethodDecorator {
  return SetMetadata(PUBLIC_METADATA, true);
}

/**
 * The validated claims as a handler parameter (`@Claims() claims`), or one claim of them
 * (`@Claims('sub') sub`). `undefined` on an optional route called without a token.
 */
export const Claims = createParamDecorator((claim: string | undefined, context: ExecutionContext): unknown => {
  const claims = context.switchToHttp().getRequest<NestHttpRequest>().claims as Record<string, unknown> | undefined;
  return claim === undefined ? claims : claims?.[claim];
});

// Nest loads reflect-metadata before any guard runs; SetMetadata wrote through it.
const { getMetadata } = Reflect as unknown as { getMetadata(key: string, target: object): unknown };

function routeMetadata(key: string, context: ExecutionContext): unknown {
  return getMetadata(key, context.getHandler()) ?? getMetadata(key, context.getClass());
}

function requestUrl(request: NestHttpRequest): string {
  return `${request.protocol ?? 'http'}://${request.headers.host ?? ''}${request.originalUrl ?? request.url ?? '/'}`;
}

/**
 * A passing request gets its claims; a refused one becomes an `HttpException` carrying the
 * refusal's body, with its `WWW-Authenticate` already on the response, so that Nest's exception
 * layer (and any exception filter of the application) renders what every other adapter sends.
 */
function settle(context: ExecutionContext, authentication: Authentication<unknown>): true {
  const http = context.switchToHttp();
  const { claims, response } = authentication;
  if (response) {
    // Express's response and Fastify's reply both have `header(name, value)`.
    const reply = http.getResponse<{ header(name: string, value: string): unknown }>();
    for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
    throw new HttpException(response.body, response.status);
  }
  // Undefined on an optional route called without a token.
  http.getRequest<NestHttpRequest>().claims = claims;
  return true;
}

/**
 * The guard: per controller or route with `@UseGuards(MonoCloudGuard)`, or for the whole app as
 * `{ provide: APP_GUARD, useClass: MonoCloudGuard }`. It reads `@Protected()` and `@Public()`.
 */
export class MonoCloudGuard implements CanActivate {
  constructor(private readonly protector: Protector<NestHttpRequest>) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (routeMetadata(PUBLIC_METADATA, context) === true) return true;
    const options = routeMetadata(PROTECTED_METADATA, context) as ProtectOptions<JwtClaims> | undefined;
    const request = context.switchToHttp().getRequest<NestHttpRequest>();
    const described = describeIncoming(request, request, () => requestUrl(request));
    const authentication = authenticate(this.protector, described, options);
    if (isThenable(authentication)) {
      return Promise.resolve(authentication).then((settled) => settle(context, settled));
    }
    return settle(context, authentication);
  }
}
Injectable()(MonoCloudGuard);
Inject(MONOCLOUD_PROTECTOR)(MonoCloudGuard, undefined, 0);

/** Client options (over the `MONOCLOUD_BACKEND_*` environment variables) and resolvers, or a client. */
export type MonoCloudModuleOptions = ProtectApiOptions<NestHttpRequest> | MonoCloudBackendNodeClient;

/** `MonoCloudModule.forRootAsync()`: options made by a factory with injected dependencies. */
export interface MonoCloudModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  // Nest's own factory signature: its arguments are whatever `inject` lists.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => MonoCloudModuleOptions | Promise<MonoCloudModuleOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
}

function protectorOf(options: MonoCloudModuleOptions | undefined): Protector<NestHttpRequest> {
  return createProtector<NestHttpRequest>(options, undefined, [], 'MonoCloudModule.forRoot()');
}

const shared = [MONOCLOUD_PROTECTOR, MonoCloudBackendNodeClient, MonoCloudGuard];
const clientProvider = {
  provide: MonoCloudBackendNodeClient,
  useFactory: (protector: Protector<NestHttpRequest>) => protector.client,
  inject: [MONOCLOUD_PROTECTOR],
};

/**
 * Global: imported once in the root module, it provides the guard, the client (injectable as
 * `MonoCloudBackendNodeClient`) and the protector to every module.
 */
export class MonoCloudModule {
  /** The client is built now, so a misconfiguration throws at start-up. */
  static forRoot(options?: MonoCloudModuleOptions): DynamicModule {
    return {
      module: MonoCloudModule,
      global: true,
      providers: [{ provide: MONOCLOUD_PROTECTOR, useValue: protectorOf(options) }, clientProvider, MonoCloudGuard],
      exports: shared,
    };
  }

  static forRootAsync(options: MonoCloudModuleAsyncOptions): DynamicModule {
    return {
      module: MonoCloudModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: MONOCLOUD_PROTECTOR,
          useFactory: async (...args: unknown[]) => protectorOf(await options.useFactory(...args)),
          inject: options.inject ?? [],
        },
        clientProvider,
        MonoCloudGuard,
      ],
      exports: shared,
    };
  }
}
Module({})(MonoCloudModule);

/**
 * Middleware that serves the protected resource metadata (RFC 9728) at its well-known path, for a
 * client (or client options) with `protectedResource`; other requests go on to `next()`. It is
 * Nest's functional middleware on either platform, mounted in the bootstrap with the module's own
 * client, `app.use(protectedResourceMetadata(app.get(MonoCloudBackendNodeClient)))`, where no
 * global prefix moves it from the origin's root, where RFC 9728 puts it.
 */
export function protectedResourceMetadata(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<NestHttpRequest>,
): (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: (error?: unknown) => void) => void {
  const serve = metadataServer<NestHttpRequest>(clientOrOptions);
  return (req, res, next) => {
    const answer = serve(req.method, pathOf(req.originalUrl ?? req.url));
    if (answer === undefined) {
      next();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };
}
