// A real app of every supported framework on 127.0.0.1, each serving the same routes (path →
// protect options) with a handler that answers 200 `{ claims }`, configured with the same client
// options. `serveWith(adapter, config, routes)` resolves to { url, close }.
import 'reflect-metadata';

import { createServer } from 'node:http';
import { createRequire } from 'node:module';

import * as expressAdapter from '@monocloud/backend-node-rs/express';
import * as fastifyAdapter from '@monocloud/backend-node-rs/fastify';
import * as honoAdapter from '@monocloud/backend-node-rs/hono';
import * as koaAdapter from '@monocloud/backend-node-rs/koa';
import * as nestAdapter from '@monocloud/backend-node-rs/nestjs';
import * as nodeAdapter from '@monocloud/backend-node-rs/node';
import * as webAdapter from '@monocloud/backend-node-rs/web';
import { serve as serveHono } from '@hono/node-server';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Hono } from 'hono';

import { frameworks, listening, serve as serveExpressOrFastify } from './frameworks.mjs';

const require = createRequire(import.meta.url);

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

function expressOrFastify(framework) {
  return async (config, routes) => {
    const protect = framework.adapter.protectApi(config);
    const guarded = Object.fromEntries(Object.entries(routes).map(([path, options]) => [path, [protect(options)]]));
    const app = await serveExpressOrFastify(framework, guarded);
    return { url: app.url, close: app.close };
  };
}

/** A server for a web-standard fetch handler, as Next.js, Bun or Deno would give it requests. */
function serveFetch(fetch) {
  return listening(serveHono({ fetch, port: 0, hostname: '127.0.0.1' }));
}

function pathOf(request) {
  return new URL(request.url).pathname;
}

async function webProtect(config, routes) {
  const { protect } = webAdapter.protectApi(config);
  return serveFetch(async (request) => {
    const path = pathOf(request);
    if (!(path in routes)) return new Response(null, { status: 404 });
    const result = await protect(request, routes[path]);
    if (result instanceof Response) return result;
    return Response.json({ claims: result.claims });
  });
}

async function webWithProtectApi(config, routes) {
  const { withProtectApi } = webAdapter.protectApi(config);
  const handlers = Object.fromEntries(
    Object.entries(routes).map(([path, options]) => [
      path,
      withProtectApi((request, context, claims) => Response.json({ claims }), options),
    ]),
  );
  return serveFetch((request) => handlers[pathOf(request)]?.(request, {}) ?? new Response(null, { status: 404 }));
}

async function hono(config, routes) {
  const protect = honoAdapter.protectApi(config);
  const app = new Hono();
  for (const [path, options] of Object.entries(routes)) {
    app.get(path, protect(options), (c) => c.json({ claims: c.var.claims }));
  }
  return serveFetch(app.fetch);
}

function koa(module) {
  return async (config, routes) => {
    const Koa = require(module);
    const protect = koaAdapter.protectApi(config);
    const guards = Object.fromEntries(Object.entries(routes).map(([path, options]) => [path, protect(options)]));
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      const guard = guards[ctx.path];
      if (!guard) return;
      await guard(ctx, async () => {
        ctx.body = { claims: ctx.state.claims };
      });
    });
    return listening(app.listen(0, '127.0.0.1'));
  };
}

async function node(config, routes) {
  const protectRequest = nodeAdapter.protectApi(config);
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (!(path in routes)) return res.writeHead(404).end();
    const passed = await protectRequest(req, res, routes[path]);
    if (!passed) return;
    res.writeHead(200, JSON_TYPE).end(JSON.stringify({ claims: passed.claims }));
  });
  server.listen(0, '127.0.0.1');
  return listening(server);
}

/** A Nest controller with one GET per route, decorated by calls (no decorator syntax in .mjs). */
function nestController(routes) {
  class RoutesController {}
  for (const [path, options] of Object.entries(routes)) {
    const name = path.slice(1);
    RoutesController.prototype[name] = (claims) => ({ claims });
    const descriptor = Object.getOwnPropertyDescriptor(RoutesController.prototype, name);
    Get(name)(RoutesController.prototype, name, descriptor);
    if (options) nestAdapter.Protected(options)(RoutesController.prototype, name, descriptor);
    nestAdapter.Claims()(RoutesController.prototype, name, 0);
  }
  Controller()(RoutesController);
  return RoutesController;
}

function nest(platform) {
  return async (config, routes) => {
    class AppModule {}
    Module({
      imports: [nestAdapter.MonoCloudModule.forRoot(config)],
      controllers: [nestController(routes)],
      providers: [{ provide: APP_GUARD, useClass: nestAdapter.MonoCloudGuard }],
    })(AppModule);
    const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
    const app = await NestFactory.create(AppModule, adapter, { logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  };
}

const byName = Object.fromEntries(frameworks.map((framework) => [framework.name, framework]));

const fromHeaders = (request, name) => request.headers[name];

/**
 * Every adapter, Express 5 first: the others are compared with its answers. `header` reads a
 * request header from what the adapter hands its resolvers (the request, the context...).
 */
export const adapters = [
  { name: 'Express 5', serve: expressOrFastify(byName['Express 5']), header: fromHeaders },
  { name: 'Express 4', serve: expressOrFastify(byName['Express 4']), header: fromHeaders },
  { name: 'Fastify 5', serve: expressOrFastify(byName['Fastify 5']), header: fromHeaders },
  { name: 'Fastify 4', serve: expressOrFastify(byName['Fastify 4']), header: fromHeaders },
  { name: 'web protect()', serve: webProtect, header: (request, name) => request.headers.get(name) ?? undefined },
  { name: 'web withProtectApi()', serve: webWithProtectApi, header: (request, name) => request.headers.get(name) ?? undefined },
  { name: 'Hono', serve: hono, header: (c, name) => c.req.header(name) },
  { name: 'Koa 3', serve: koa('koa'), header: (ctx, name) => ctx.get(name) || undefined },
  { name: 'Koa 2', serve: koa('koa2'), header: (ctx, name) => ctx.get(name) || undefined },
  { name: 'node:http', serve: node, header: fromHeaders },
  { name: 'NestJS (Express)', serve: nest('express'), header: fromHeaders },
  { name: 'NestJS (Fastify)', serve: nest('fastify'), header: fromHeaders },
];
