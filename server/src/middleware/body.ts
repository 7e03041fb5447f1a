// JSON request bodies: Content-Type application/json, at most 1 MiB, parsed and validated
// against the operation's schema (400 naming the field). Streamed uploads skip this.
import type { Context } from 'koa';
import { badRequest, HttpError, tooLarge } from '../errors.js';

export const JSON_LIMIT = 1024 * 1024;

export async function readJson(ctx: Context): Promise<unknown> {
  const length = Number(ctx.get('Content-Length') || 0);
  if (length > JSON_LIMIT) throw tooLarge(`the request body is larger than ${JSON_LIMIT} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > JSON_LIMIT) throw tooLarge(`the request body is larger than ${JSON_LIMIT} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    // The connection went before the body was whole (the client left, or the request timeout).
    if (ctx.req.destroyed && !(err instanceof HttpError)) throw new HttpError(408, 'the request body did not arrive');
    throw err;
  }
  if (size === 0) return undefined;
  if (!ctx.is('application/json')) throw new HttpError(415, 'send the body as Content-Type: application/json');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('body: not valid JSON', 'body');
  }
}
