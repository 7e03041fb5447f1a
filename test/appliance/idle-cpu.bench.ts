// Idle CPU of the appliance (`make bench`): the QEMU process's CPU over a minute of an idle
// appliance booted in RAM (no VMs), with its console status screens (tty1, ttyS0) running and then
// with both stopped, in the same boot: what the screens cost. Before 330f88f they took 61–87% of a
// core against 27% without them.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostDto } from '../../server/src/dto/hosts.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { applianceIso, bootAppliance, extractBootFiles, repoRoot, waitForHttps } from './appliance-boot.js';
import { ApplianceClient } from './appliance-client.js';
import { runOnHost } from './host-shell.js';

const workDir = join(repoRoot, 'test/output/appliance-idle-bench');
const port = 21443 + (process.pid % 500);
const password = `qxt-idle-${process.pid}-pw`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await mkdir(workDir, { recursive: true });
const iso = applianceIso();
const vm = bootAppliance(
  { name: 'idle', workDir, iso, cmdline: `quantix.admin_password=${password}`, disks: [], httpsPort: port },
  await extractBootFiles(iso, join(workDir, 'boot')),
);
try {
  const api = new ApplianceClient(port, await waitForHttps(vm, port, 10 * 60_000));
  await api.login('admin', password);
  const host = await eventually(
    'the local host online',
    async () =>
      (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local && h.status === 'online'),
    5 * 60_000,
  );
  const cpuShare = async () => {
    const before = vm.cpuSeconds;
    await sleep(60_000);
    return (vm.cpuSeconds - before) / 60;
  };
  await sleep(60_000); // first-boot work settles
  const withScreens = await cpuShare();
  await runOnHost(api, host.id, 'systemctl stop quantix-status@tty1 quantix-status@ttyS0');
  const without = await cpuShare();
  console.log(`idle appliance (RAM boot, no VMs), QEMU CPU over 60 s, share of one core:`);
  console.log(`  with the console status screens: ${(withScreens * 100).toFixed(0)}%`);
  console.log(`  with both screens stopped:       ${(without * 100).toFixed(0)}%`);
  console.log(`  ratio with ÷ without: ${(withScreens / without).toFixed(2)} (2.3–3.2 before 330f88f)`);
} finally {
  await vm.stop();
}
