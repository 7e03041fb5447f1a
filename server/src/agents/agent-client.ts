// One host's gRPC clients (ts-proto, grpc-js) over a single mutual-TLS channel with the agent
// certificate pinned; unary calls with deadlines and gRPC status → HTTP mapping.
import { Channel, Metadata, type ChannelOptions, type Client, type ServiceError } from '@grpc/grpc-js';
import type { KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { HostServiceClient } from '@quantix/proto/v1/host.js';
import { VmServiceClient } from '@quantix/proto/v1/vm.js';
import { ImageServiceClient, StorageServiceClient } from '@quantix/proto/bulk/bulk-services.js';
import { ConsoleServiceClient } from '@quantix/proto/v1/console.js';
import { NetworkServiceClient } from '@quantix/proto/v1/network.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { toHttpError } from './grpc-errors.js';

/** The last overload of a ts-proto unary method: (request, metadata, options, callback). */
export type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: { deadline: number },
  callback: (err: ServiceError | null, res: Res) => void,
) => unknown;

export const DEFAULT_DEADLINE_MS = 30_000;

const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 8 * 1024 * 1024,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 5_000,
  // Agents are addressed by IP and pinned by fingerprint: no SNI with an IP (RFC 6066).
  'grpc.ssl_target_name_override': 'quantix-agent',
};

export class AgentClient {
  readonly host: HostServiceClient;
  readonly vm: VmServiceClient;
  readonly storage: StorageServiceClient;
  readonly image: ImageServiceClient;
  readonly console: ConsoleServiceClient;
  readonly network: NetworkServiceClient;
  private readonly channel: Channel;

  constructor(
    readonly address: string,
    agentCertPem: string,
    clientCert: KeyAndCert,
    private readonly label: () => string,
  ) {
    this.channel = new Channel(address, pinnedCredentials(agentCertPem, clientCert), CHANNEL_OPTIONS);
    const opts = { channelOverride: this.channel };
    const creds = pinnedCredentials(agentCertPem, clientCert);
    this.host = new HostServiceClient(address, creds, opts);
    this.vm = new VmServiceClient(address, creds, opts);
    this.storage = new StorageServiceClient(address, creds, opts);
    this.image = new ImageServiceClient(address, creds, opts);
    this.console = new ConsoleServiceClient(address, creds, opts);
    this.network = new NetworkServiceClient(address, creds, opts);
  }

  /** `await agent.call(agent.vm, agent.vm.startVm, { id })`; errors arrive as HttpError. */
  call<Req, Res>(
    client: Client,
    method: UnaryMethod<Req, Res>,
    req: Req,
    timeoutMs = DEFAULT_DEADLINE_MS,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method.call(client, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(toHttpError(err, this.label())) : resolve(res),
      );
    });
  }

  /** Deadline for streaming calls. */
  deadline(ms: number): { deadline: number } {
    return { deadline: Date.now() + ms };
  }

  mapError(err: unknown): Error {
    return toHttpError(err, this.label());
  }

  close(): void {
    for (const c of [this.host, this.vm, this.storage, this.image, this.console, this.network]) c.close();
    this.channel.close();
  }
}
