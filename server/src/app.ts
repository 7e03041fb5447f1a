// createApp(deps): the Koa application without listening, so tests drive it in-process.
import Koa from 'koa';
import Router from '@koa/router';
import { buildOpenApi } from './openapi.js';

export function createApp(): Koa {
  const app = new Koa();
  const api = new Router({ prefix: '/api/v1' });
  api.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  api.get('/openapi.json', (ctx) => {
    ctx.body = buildOpenApi('0.1.0');
  });
  app.use(api.routes()).use(api.allowedMethods());
  return app;
}
