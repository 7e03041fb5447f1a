// Streamed uploads must declare their size (Content-Length): it is passed to the agent, which
// refuses more bytes than declared.
import type { Context } from 'koa';
import { HttpError } from '../errors.js';

export function requireLength(ctx: Context): number {
  const n = Number(ctx.get('Content-Length'));
  if (!ctx.get('Content-Length') || !Number.isSafeInteger(n) || n <= 0) {
    throw new HttpError(411, 'uploads need a Content-Length header (the size of the file)');
  }
  return n;
}
