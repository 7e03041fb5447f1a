// Migration preflight against a real server and agent (one libvirt host) plus a joined host whose
// agent does not answer: each refusal names what is missing (host offline / in maintenance, pool
// absent, inactive or without room with figures, mode against state, snapshots, a move under
// way), and the targets preview lists every host with its pools and reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { PoolState } from '@quantix/proto/v1/storage.js';
import type { TaskDto } from '../dto/tasks.js';
import { HttpError } from '../errors.js';
import { freePort } from '../test-support/spawn.js';
import { eventually, srvName, virsh } from '../test-support/guest-pool.js';
import { startMoveFixture, type FixturePool } from '../test-support/move-fixture.js';
import { MigrationPreflight, type MigrationRequest } from './migration-preflight.js';

const exec = promisify(execFile);
const MiB = 2 ** 20;

/** Resolves to the 4xx error's status and message (fails the test when the check passes). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HttpError && err.status < 500) return `${err.status} ${err.message}`;
    throw err;
  }
  assert.fail('the check passed');
}

test('qxt-srv migration preflight: refusals name what is missing; targets list every host', async (t) => {
  const f = await startMoveFixture(2);
  const { s, host, c } = f;
  const [a, b] = f.pools as [FixturePool, FixturePool];
  const api = s.admin;
  const name = srvName('preflight');
  const small = srvName('small');
  t.after(async () => {
    // The test leaves the loop pool stopped; started again, it is deleted with its backing file.
    await api.request('POST', `/api/v1/hosts/${host.id}/pools/${small}/start`);
    await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${small}?deleteBackingFile=true`);
    await f.stop();
  });

  // A VM with the guest disk and an 80 MiB preallocated qcow2 disk, both in pool a.
  const vmId = await f.vm(name, a);
  const volume = `${name}.qcow2`;
  const data = `${name}-data.qcow2`;
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=falloc', join(a.dir, data), '80M']);
  await virsh(['pool-refresh', a.name]);
  const spec = (await c.client.getVm(vmId)).spec!;
  await c.client.updateVm(vmId, { ...spec, disks: [...spec.disks, { ...spec.disks[0]!, volume: data }] });
  await c.refreshVm(vmId);

  // A 64 MiB loop pool: too small for the disks.
  const pool = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
    body: { name: small, kind: 'loop', sizeBytes: 64 * MiB },
  });
  assert.equal(pool.status, 202, pool.text);
  assert.equal((await f.taskDone(pool.json)).status, 'succeeded');
  await c.syncPools();
  assert.ok(c.pools.has(small), `pools in the inventory: ${[...c.pools.keys()].join(', ')}`);

  // A second joined host whose agent does not answer (nothing listens on its port).
  const ghost = {
    ...c.record,
    id: 'qxt-srv-ghost',
    name: 'qxt-srv-ghost',
    local: false,
    address: `127.0.0.1:${await freePort()}`,
  };
  s.services.db.data.hosts.push(ghost);
  await s.services.db.write();
  s.services.pool.add(ghost);

  const preflight = new MigrationPreflight(s.services.pool, s.services.clusters);
  const check = (req: MigrationRequest) => preflight.check(vmId, req);

  assert.equal(await refusal(check({ hostId: 'nope' })), '400 hostId: there is no host nope');
  assert.equal(
    await refusal(check({ hostId: host.id, mode: 'live' })),
    `409 cannot live-migrate VM ${name}: it is shutoff; a stopped VM moves cold`,
  );
  assert.equal(
    await refusal(check({ hostId: 'qxt-srv-ghost' })),
    `409 cannot move VM ${name} to host qxt-srv-ghost: host qxt-srv-ghost is offline`,
  );
  ghost.maintenance = true;
  assert.equal(
    await refusal(check({ hostId: 'qxt-srv-ghost' })),
    `409 cannot move VM ${name} to host qxt-srv-ghost: host qxt-srv-ghost is offline; host qxt-srv-ghost is in maintenance`,
  );
  assert.equal(
    await refusal(check({ hostId: host.id, poolId: 'absent' })),
    `409 cannot move VM ${name}: host ${host.name} has no pool "absent"`,
  );
  assert.equal(
    await refusal(check({ hostId: host.id, poolId: a.name })),
    `409 cannot move VM ${name} to pool "${a.name}" on host ${host.name}: the disks of VM ${name} are already in pool "${a.name}"`,
  );
  const room = await refusal(check({ hostId: host.id, poolId: small }));
  assert.match(
    room,
    new RegExp(
      `^409 cannot move VM ${name} to pool "${small}" on host ${host.name}: pool "${small}" has \\d+ MiB free, the disks need (10[0-9]|11[0-9]) MiB$`,
    ),
  );

  // A storage move into pool b passes, with pool b as placement's choice when none is named.
  const plan = await check({ hostId: host.id });
  assert.deepEqual(
    { pool: plan.pool, mode: plan.mode, storageMove: plan.storageMove, disks: plan.disks.map((d) => d.volume) },
    { pool: b.name, mode: 'cold', storageMove: true, disks: [volume, data] },
  );
  assert.ok(plan.neededBytes >= 80 * MiB, `needs the data disk's 80 MiB at least (${plan.neededBytes})`);

  // The targets preview: this host (pool b ok, a already there, small too small), the ghost not ok.
  const targets = await preflight.targets(vmId);
  const here = targets.find((x) => x.hostId === host.id)!;
  assert.equal(here.ok, true, here.reasons.join('; '));
  const byPool = Object.fromEntries(here.pools.map((p) => [p.name, p.ok]));
  assert.equal(byPool[b.name], true);
  assert.equal(byPool[a.name], false);
  assert.equal(byPool[small], false);
  const there = targets.find((x) => x.hostId === 'qxt-srv-ghost')!;
  assert.deepEqual(
    { ok: there.ok, recommended: there.recommended },
    { ok: false, recommended: false },
    'an offline host is never recommended',
  );
  assert.ok(there.reasons.includes('host qxt-srv-ghost is offline'), there.reasons.join('; '));

  // An inactive pool is named as such.
  const stopped = await api.request('POST', `/api/v1/hosts/${host.id}/pools/${small}/stop`);
  assert.ok(stopped.status < 300, stopped.text);
  await eventually('pool small inactive', async () => c.pools.get(small)?.state === PoolState.POOL_STATE_INACTIVE);
  assert.equal(
    await refusal(check({ hostId: host.id, poolId: small })),
    `409 cannot move VM ${name} to pool "${small}" on host ${host.name}: pool "${small}" is not active`,
  );

  // A move under way, and snapshots, are refused wherever the VM would go.
  preflight.locks.acquire(vmId, 'storage move to b');
  assert.equal(
    await refusal(check({ hostId: host.id })),
    `409 cannot move VM ${name}: VM is being migrated (storage move to b)`,
  );
  assert.throws(() => preflight.locks.acquire(vmId, 'again'), /VM is being migrated/);
  preflight.locks.release(vmId);
  const snap = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/snapshots`, { body: { name: 'before' } });
  assert.equal((await f.taskDone(snap.json)).status, 'succeeded');
  await eventually('the snapshot counted', async () => (c.vms.get(vmId)?.snapshotCount ?? 0) > 0);
  assert.equal(
    await refusal(check({ hostId: host.id })),
    `409 cannot move VM ${name}: it has 1 snapshot(s), which a copy of its disks would lose: delete them first`,
  );
});
