// What a route handler gets (validated params, query and body, the caller) and returns (the
// reply body; app.ts sets the status from the operation). Stream/SSE handlers set ctx.body.
import type { Context } from 'koa';
import type { Principal } from '../services/auth-service.js';

export interface Req {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: unknown;
  /** Set for every non-public operation (app.ts checked the role). */
  principal: Principal;
  ctx: Context;
}

export type Handler = (req: Req) => unknown;
export type Handlers = Record<string, Handler>;
