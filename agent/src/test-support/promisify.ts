// Promise form of a ts-proto grpc-js unary method: `await promisify(client, client.getVm)(req)`.
// Typed against the last overload (request, metadata, options, callback) so Res is inferred.
import { Metadata, type CallOptions, type Client, type ServiceError } from '@grpc/grpc-js';

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => unknown;

export function promisify<Req, Res>(
  client: Client,
  method: UnaryMethod<Req, Res>,
  timeoutMs = 120_000,
): (req: Req) => Promise<Res> {
  return (req) =>
    new Promise<Res>((resolve, reject) => {
      method.call(client, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
}
