// Turns any error into a gRPC status: AgentError codes map 1:1, ExecError keeps the tool's own
// message, anything else becomes INTERNAL without a stack trace.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { AgentError, type ErrorCode } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { log } from '../log.js';

const codes: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  UNAVAILABLE: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
};

export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof AgentError) {
    if (err.field) metadata.set('qx-field', err.field);
    return { code: codes[err.code], details: err.message, metadata };
  }
  if (err instanceof ExecError) {
    return { code: status.INTERNAL, details: err.message, metadata };
  }
  log.error('unexpected error', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err), metadata };
}
