// The appliance on an etcd control plane (run by `make test-appliance` after appliance.e2e.ts): an
// etcd member on this machine's loopback, handed to the guest as 10.0.2.100:2379 by QEMU's user
// network (a guestfwd relay: nothing leaves the machine); the ISO booted in RAM with
// `quantix.etcd=` runs its server on that cluster: health says etcd and leading, the admin it
// made from the kernel command line is a sealed record in etcd, its local host connects, the
// status screen shows the cluster's health, and etcd itself ships in the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostDto } from '../../server/src/dto/hosts.js';
import { startEtcdCluster, type EtcdCluster } from '../../server/src/test-support/etcd-cluster.js';
import { createEtcdClient } from '../../server/src/store/etcd-client.js';
import { applianceIso, bootAppliance, extractBootFiles, repoRoot, waitForHttps } from './appliance-boot.js';
import { ApplianceClient } from './appliance-client.js';
import { runOnHost } from './host-shell.js';
import type { QemuMachine } from './qemu-machine.js';

const workDir = join(repoRoot, 'test/output/appliance-controlplane');
const port = 19443 + (process.pid % 1000);
const password = `qxt-Cp-${process.pid}-pw`;
const minutes = (n: number) => n * 60_000;

test('appliance: its server runs on the etcd cluster quantix.etcd= names', async (t) => {
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const etcd: EtcdCluster = await startEtcdCluster(1);
  t.after(() => etcd.close());
  const local = new URL(etcd.endpoints.split(',')[0]!);
  const iso = applianceIso();
  const vm: QemuMachine = bootAppliance(
    {
      name: 'controlplane',
      workDir,
      iso,
      cmdline: `quantix.admin_password=${password} quantix.etcd=http://10.0.2.100:2379`,
      disks: [],
      httpsPort: port,
      guestForwards: [{ guest: '10.0.2.100:2379', host: Number(local.port) }],
    },
    await extractBootFiles(iso, join(workDir, 'boot')),
  );
  t.after(() => vm.stop());
  try {
    const api = new ApplianceClient(port, await waitForHttps(vm, port, minutes(8)));
    const health = await api.expect<{ store: string; leader: boolean }>(200, 'GET', '/api/v1/health');
    assert.equal(health.store, 'etcd');
    await api.login('admin', password);

    // The configuration is in etcd, sealed: the admin's record is there, its name is not readable.
    const client = createEtcdClient({ kind: 'etcd', endpoints: [etcd.endpoints.split(',')[0]!] });
    try {
      const stored = await client.getAll().prefix('/quantix/').strings();
      const keys = Object.keys(stored);
      assert.ok(
        keys.some((k) => k.startsWith('/quantix/config/users/')),
        `a user record in etcd: ${keys.join(', ')}`,
      );
      assert.ok(Object.values(stored).every((v) => !v.includes('"username"')));
    } finally {
      client.close();
    }

    // It leads (the only server), so it connects its own agent.
    const deadline = Date.now() + minutes(5);
    let host: HostDto | undefined;
    while (Date.now() < deadline && host?.status !== 'online') {
      host = (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local);
      if (host?.status !== 'online') await new Promise((r) => setTimeout(r, 3000));
    }
    assert.equal(host?.status, 'online', `local host: ${JSON.stringify(host)}`);
    // Recorded where the other appliances' servers reach its agent (the guest's address, the
    // agent's TLS port); this server itself dials the agent's socket.
    assert.match(host!.address, /^10\.0\.2\.15:9443$/, `local host: ${JSON.stringify(host)}`);
    assert.equal((await api.expect<{ leader: boolean }>(200, 'GET', '/api/v1/health')).leader, true);

    await vm.waitForSerial(/Control plane: etcd http:\/\/10\.0\.2\.100:2379\s+\S+ is healthy/, minutes(2));
    const version = await runOnHost(api, host!.id, 'etcd --version; etcdctl version');
    assert.match(version, /etcd Version: 3\./);
    assert.match(version, /etcdctl version: 3\./);
  } catch (err) {
    process.stderr.write(`\n--- last serial output (full log: ${vm.options.serialLog}) ---\n`);
    process.stderr.write(vm.serial.slice(-6000) + '\n---\n');
    throw err;
  }
});
