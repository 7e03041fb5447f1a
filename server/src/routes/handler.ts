// What a route handler gets and returns, typed from its operation in the contract: params from
// the path's :names, query and body from the operation's schemas (app.ts validated them), the
// caller. The reply body is returned (app.ts sets the status); stream/SSE handlers set ctx.body.
import type { Context } from 'koa';
import type { Operation } from '../dto/operation.js';
import type { Schema } from '../schema/schema.js';
import type { Principal } from '../services/auth-service.js';

/** The :names of a Koa path: '/hosts/:hostId/pools/:pool' → 'hostId' | 'pool'. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<Rest>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** Any operation (app.ts's view) has an unknown body and string query values. */
type BodyOf<O extends Operation> = O extends { body: Schema<infer B> } ? B : Operation extends O ? unknown : undefined;
type QueryOf<O extends Operation> = O extends { query: Schema<infer Q> }
  ? Q
  : Operation extends O
    ? Record<string, string | undefined>
    : Record<string, never>;

export interface Req<O extends Operation = Operation> {
  params: Record<PathParams<O['path']>, string>;
  query: QueryOf<O>;
  body: BodyOf<O>;
  /** Set for every non-public operation (app.ts checked the role). */
  principal: [O['role']] extends ['public'] ? Principal | undefined : Principal;
  ctx: Context;
}

export type Handler<O extends Operation = Operation> = (req: Req<O>) => unknown;

/** One handler for each operation of `Ops`, by operation id, each typed from its operation. */
export type HandlersOf<Ops extends readonly Operation[]> = { [O in Ops[number] as O['id']]: Handler<O> };

/** Handlers as app.ts binds them: by id, called with a request validated against their operation. */
export type Handlers = Record<string, Handler>;

/**
 * Typed handlers as app.ts binds them. Sound: app.ts calls each one only with a request validated
 * against its own operation (params from its path, query and body from its schemas).
 */
export function bindable(handlers: object): Handlers {
  return handlers as Handlers;
}
