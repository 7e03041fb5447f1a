// CSRF: a mutating request authenticated by the session cookie must carry the session's token
// in X-CSRF-Token. Bearer-token requests carry no ambient credentials and need none.
import { timingSafeEqual } from 'node:crypto';
import { forbidden } from '../errors.js';
import type { Principal } from '../services/auth-service.js';
import { CSRF_HEADER } from '../openapi.js';

export function checkCsrf(method: string, principal: Principal | undefined, header: string): void {
  if (method === 'GET' || method === 'HEAD' || !principal || principal.via !== 'session') return;
  const expected = Buffer.from(principal.session!.csrfToken);
  const given = Buffer.from(header);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw forbidden(`missing or wrong ${CSRF_HEADER} header: send the csrfToken from sign-in`);
  }
}
