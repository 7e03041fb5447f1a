// The shape of one REST operation in the contract: method, path, who may call it, body and
// reply schemas. app.ts binds a handler to every operation; openapi.ts documents them.
import type { Schema } from '../schema/schema.js';
import type { Role } from './enums.js';

/** Who may call an operation (the list is in enums.ts). */
export type { Role };

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Operation {
  /** operationId, verb first: listVms, startVm. */
  id: string;
  method: Method;
  /** Koa-style path with :params, absolute (e.g. /api/v1/vms/:id). */
  path: string;
  tag: string;
  summary: string;
  /** The least role allowed; 'public' needs no credentials. */
  role: Role | 'public';
  /** JSON body schema; 'stream' = raw bytes streamed through (uploads, no size limit). */
  body?: Schema | 'stream';
  query?: Schema;
  /** Success status and reply schema; 'stream' = bytes, 'sse' = event stream, 'text' = plain text. */
  status: number;
  response?: Schema | 'stream' | 'sse' | 'text';
  /** Long operations reply 202 with a TaskDto and report progress over SSE. */
  description?: string;
}

/** A websocket endpoint (documented in OpenAPI as GET with 101 Switching Protocols). */
export interface SocketEndpoint {
  id: string;
  path: string;
  tag: string;
  summary: string;
  role: Role;
  description: string;
}

/** The usual least role: viewers read, operators change (typed wide, so an operation may ask for more). */
export function leastRole(method: Method): Operation['role'] {
  return method === 'GET' ? 'viewer' : 'operator';
}
