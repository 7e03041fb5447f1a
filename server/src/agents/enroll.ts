// Step 2 of joining a host: EnrollService.Join over TLS pinned to the certificate the user
// confirmed, handing over the vDC CA with the one-time token. Afterwards: mutual TLS.
// An agent joined to a vDC refuses Join until that vDC removes it or it is reset at its console.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { EnrollServiceClient, type HostInfo } from '@quantix/proto/v1/host.js';
import { HttpError } from '../errors.js';
import { agentCredentials } from './agent-transport.js';
import { checkPrivateSocket, unixSocketPath } from '@quantix/proto/fs/private-socket.js';
import { isServiceError } from './grpc-errors.js';

export interface JoinInput {
  address: string;
  certificatePem: string;
  joinToken: string;
  caCertPem: string;
  vdcId: string;
}

export async function joinAgent(input: JoinInput): Promise<HostInfo> {
  const socket = unixSocketPath(input.address);
  if (socket !== undefined) await checkPrivateSocket(socket);
  const client = new EnrollServiceClient(input.address, agentCredentials(input.address, input.certificatePem), {
    'grpc.ssl_target_name_override': 'quantix-agent',
  });
  return new Promise<HostInfo>((resolve, reject) => {
    client.join(
      { joinToken: input.joinToken.trim(), caCertificatePem: input.caCertPem, vdcId: input.vdcId },
      new Metadata(),
      { deadline: Date.now() + 60_000 },
      (err: ServiceError | null, res) => {
        client.close();
        if (!err) return resolve(res.host!);
        reject(joinError(err, input.address, input.vdcId));
      },
    );
  });
}

/** The agent answered "already joined to vDC <id> (…)": the host belongs to a vDC already. */
export class AlreadyJoinedError extends HttpError {}

function joinError(err: unknown, address: string, vdcId: string): HttpError {
  if (!isServiceError(err)) return new HttpError(502, `joining ${address} failed: ${String(err)}`);
  if (err.code === status.PERMISSION_DENIED) return new HttpError(400, `joinToken: ${err.details}`, 'joinToken');
  if (err.code === status.FAILED_PRECONDITION) {
    const ours = err.details.includes(`vDC ${vdcId} `);
    return new AlreadyJoinedError(
      409,
      ours
        ? `the agent at ${address} is already joined to this vDC: it is one of its hosts, or was removed while the agent was offline (then reset it at the host's console, key R, and add it again)`
        : `the agent at ${address} is ${err.details}`,
    );
  }
  if (err.code === status.INVALID_ARGUMENT)
    return new HttpError(502, `the agent at ${address} refused the vDC CA: ${err.details}`);
  if (err.code === status.UNAVAILABLE) {
    const changed = /certificate changed/.test(err.details);
    return new HttpError(
      changed ? 409 : 503,
      changed
        ? `the agent at ${address} now presents a different certificate than the one you confirmed: probe it again`
        : `host ${address} is offline (${err.details})`,
    );
  }
  return new HttpError(502, `joining ${address} failed: ${err.details}`);
}
