// Adapts an async function to a grpc-js unary handler, mapping thrown errors through status.ts.
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { toServiceError } from './status.js';

export function unary<Req, Res>(fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}
