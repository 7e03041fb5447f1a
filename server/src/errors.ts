// Server errors: an HTTP status plus a sentence meant for the user (and the field at fault).
// middleware/error.ts is the only place these become responses.

export class HttpError extends Error {
  override readonly name = 'HttpError';
  /** Seconds for the Retry-After header (429). */
  retryAfter?: number;
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const badRequest = (message: string, field?: string) => new HttpError(400, message, field);
export const unauthorized = (message = 'sign in first') => new HttpError(401, message);
export const forbidden = (message: string) => new HttpError(403, message);
export const notFound = (what: string) => new HttpError(404, `${what} not found`);
export const conflict = (message: string) => new HttpError(409, message);
export const tooLarge = (message: string) => new HttpError(413, message);
export const tooMany = (message: string, retryAfterSeconds?: number) =>
  Object.assign(new HttpError(429, message), { retryAfter: retryAfterSeconds });
export const unavailable = (message: string) => new HttpError(503, message);
