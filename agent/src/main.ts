// Agent entry point: load config and identity, start gRPC, print how to join, stop cleanly.
import { loadAgentConfig } from './config.js';
import { loadOrCreateIdentity } from './identity/agent-identity.js';
import { JoinToken } from './identity/join-token.js';
import { Virsh } from './libvirt/virsh.js';
import { WatchBus } from './context.js';
import { startAgentServer } from './grpc/server.js';
import { log } from './log.js';
import { startNetworks } from './network/network-startup.js';

const config = loadAgentConfig();
const identity = await loadOrCreateIdentity(config.dataDir);
const joinToken = new JoinToken(config.joinTokenFile);
const virsh = new Virsh(config.libvirtUri);
const bus = new WatchBus();
const running = await startAgentServer({ config, identity, joinToken, virsh, bus });
void startNetworks({ virsh, bus, config }, config.dataDir);
log.info('agent listening', {
  address: `${config.listenHost}:${running.port}`,
  fingerprint: identity.fingerprint,
  joined: identity.caPem !== undefined,
  joinTokenFile: config.joinTokenFile,
});
if (!identity.caPem) log.info('join token', { token: await joinToken.current() });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info('agent stopping', { signal });
    void running.close().then(() => process.exit(0));
  });
}
