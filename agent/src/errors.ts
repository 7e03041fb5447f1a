// Agent errors: a code a caller can act on plus a sentence a person understands.
// grpc/status.ts is the only place these become gRPC statuses.

export const ErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  FailedPrecondition: 'FAILED_PRECONDITION',
  ResourceExhausted: 'RESOURCE_EXHAUSTED',
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  PermissionDenied: 'PERMISSION_DENIED',
  Unauthenticated: 'UNAUTHENTICATED',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `field` names the offending input, e.g. "spec.disks[0].volume". */
export function invalidArgument(field: string, problem: string): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `${field}: ${problem}`, field);
}

export function notFound(what: string): AgentError {
  return new AgentError(ErrorCode.NotFound, `${what} not found`);
}

export function failedPrecondition(sentence: string): AgentError {
  return new AgentError(ErrorCode.FailedPrecondition, sentence);
}
