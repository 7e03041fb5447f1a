// Server entry point: config → services (db, agents) → HTTPS; prints the URL; stops cleanly.
import { loadServerConfig } from './config.js';
import { createServices } from './compose.js';
import { startServer } from './server.js';
import { log } from './log.js';
import { moveMemberAtStart, noteMemberRepair } from './services/controlplane-address.js';

const config = loadServerConfig();
// A member left on an old address may not even start: moved before the store opens on it.
if (config.store.kind === 'etcd')
  await moveMemberAtStart(config.dataDir, config.controlPlane).catch((err: Error) =>
    noteMemberRepair(config.controlPlane, err),
  );
const services = await createServices(config);
// What the files do not tell (the cluster's peer URL, a member still on old files): before requests come.
await services.controlPlane.keepMemberAddress();
const running = await startServer(services);
services.start();
const shown = config.listenHost === '0.0.0.0' || config.listenHost === '::' ? 'localhost' : config.listenHost;
log.info('quantix server listening', {
  url: `https://${shown}:${running.port}/`,
  dataDir: config.dataDir,
  needsSetup: services.auth.needsSetup(),
  certificate: services.certificate.dto().fingerprint,
});

/** Exit status asking the supervisor (systemd, a test harness) to start the server again. */
const RESTART_STATUS = 75;
// After forming or joining a control plane: stop cleanly, then come back on etcd.
services.controlPlane.onRestart = () => {
  log.info('server restarting on the control plane');
  void Promise.all([services.stop(), running.close()]).then(() => process.exit(RESTART_STATUS));
};

void services.controlPlane.fromBootSetting(config.controlPlaneBoot);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info('server stopping', { signal });
    // The metrics history is written before exiting (the last few minutes of samples).
    void Promise.all([services.stop(), running.close()]).then(() => process.exit(0));
  });
}
