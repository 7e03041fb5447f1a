// gRPC status from an agent → HttpError: INVALID_ARGUMENT→400 with the field (metadata
// "qx-field"), RESOURCE_EXHAUSTED→400 with its field (else 507), NOT_FOUND→404, FAILED_PRECONDITION/ALREADY_EXISTS→409, UNAVAILABLE→503
// "host X is offline", DEADLINE_EXCEEDED→504; anything else 502 with the agent's sentence.
import { status, type ServiceError } from '@grpc/grpc-js';
import { HttpError } from '../errors.js';

export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'details' in err && 'metadata' in err;
}

export function toHttpError(err: unknown, hostName: string): HttpError {
  if (err instanceof HttpError) return err;
  if (!isServiceError(err))
    return new HttpError(500, err instanceof Error ? err.message : String(err), undefined, { cause: err });
  const details = err.details || err.message;
  const field = err.metadata?.get('qx-field')[0]?.toString();
  const opts = { cause: err };
  switch (err.code) {
    case status.INVALID_ARGUMENT:
      return new HttpError(400, details, field, opts);
    case status.NOT_FOUND:
      return new HttpError(404, details, undefined, opts);
    case status.ALREADY_EXISTS:
    case status.FAILED_PRECONDITION:
    case status.ABORTED:
      return new HttpError(409, details, undefined, opts);
    case status.RESOURCE_EXHAUSTED:
      // A size the host has no room for is the request's fault when the agent names the field.
      return field
        ? new HttpError(400, `host ${hostName}: ${details}`, field, opts)
        : new HttpError(507, `host ${hostName}: ${details}`, undefined, opts);
    case status.PERMISSION_DENIED:
      return new HttpError(403, `host ${hostName}: ${details}`, undefined, opts);
    case status.UNAUTHENTICATED:
      return new HttpError(502, `host ${hostName} refused the vDC's client certificate: ${details}`, undefined, opts);
    case status.UNAVAILABLE:
      return new HttpError(503, `host ${hostName} is offline (${details})`, undefined, opts);
    case status.DEADLINE_EXCEEDED:
      return new HttpError(504, `host ${hostName} did not answer in time`, undefined, opts);
    case status.UNIMPLEMENTED:
      return new HttpError(501, `host ${hostName} does not support this yet (${details})`, undefined, opts);
    case status.CANCELLED:
      return new HttpError(499, `the call to host ${hostName} was cancelled`, undefined, opts);
    default:
      return new HttpError(502, `host ${hostName}: ${details}`, undefined, opts);
  }
}
