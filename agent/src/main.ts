// Agent entry point: load config and identity, start gRPC, print how to join, stop cleanly.
import { loadAgentConfig } from './config.js';
import { loadOrCreateIdentity } from './identity/agent-identity.js';
import { JoinToken } from './identity/join-token.js';
import { VdcMembership } from './identity/vdc-membership.js';
import { startControlSocket } from './identity/control-socket.js';
import { Virsh } from './libvirt/virsh.js';
import { WatchBus } from './context.js';
import { startAgentServer } from './grpc/server.js';
import { log } from './log.js';
import { startNetworks } from './network/network-startup.js';
import { PoolManager } from './storage/pool-manager.js';
import { Volumes } from './storage/volumes.js';
import { runAutostart } from './vm/autostart.js';

const config = loadAgentConfig();
const identity = await loadOrCreateIdentity(config.dataDir);
const membership = await VdcMembership.load(
  config.dataDir,
  new JoinToken(config.joinTokenFile, config.joinTokenLifetimeMs),
);
const virsh = new Virsh(config.libvirtUri);
const bus = new WatchBus();
// Re-attaches the stored pools; every handler's volume change goes through this one instance.
const pools = new PoolManager({ dataDir: config.dataDir, virsh, bus });
const volumes = new Volumes(pools, virsh);
const running = await startAgentServer({ config, identity, membership, virsh, bus, pools, volumes });
const control = await startControlSocket(config.dataDir, membership);
void startNetworks({ virsh, bus, config }, config.dataDir);
// Once per host boot, when libvirt answers: the autostart VMs in their order (vm/autostart.ts).
const autostart = new AbortController();
void runAutostart({ virsh, marker: config.autostartMarker, signal: autostart.signal }).catch((err: unknown) =>
  log.error('autostart failed', { error: (err as Error).message }),
);
log.info('agent listening', {
  address: `${config.listenHost}:${running.port}`,
  localSocket: running.localSocket,
  fingerprint: identity.fingerprint,
  joined: membership.joined,
  joinTokenFile: config.joinTokenFile,
});
const { token, tokenExpiresAt } = membership.status();
if (token) log.info('join token', { token, expiresAt: tokenExpiresAt });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info('agent stopping', { signal });
    autostart.abort();
    control.close();
    void running.close().then(() => process.exit(0));
  });
}
