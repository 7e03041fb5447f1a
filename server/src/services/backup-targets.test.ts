// NFS backup targets against a real server and agent (#24). This kernel has no NFS client, which
// is itself a failure an operator can meet: the target lists with the agent's reason, and a
// backup to it is a failed task saying so, with nothing listed. Bad input is refused naming the
// field; only admins add and remove targets; a schedule may name one and keeps it from removal;
// targets keep their fields through the etcd key layout. Real mounts: test/appliance/nfs-backup.e2e.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupDto, BackupScheduleDto } from '../dto/backups.js';
import type { NfsTargetDto } from '../dto/backup-targets.js';
import type { TaskDto } from '../dto/tasks.js';
import { emptyDb } from '../store/db.js';
import { flattenConfig, unflattenConfig } from '../store/config-keys.js';
import type { BackupTargetRecord } from '../store/records.js';
import { srvName } from '../test-support/guest-pool.js';
import { startMoveFixture } from '../test-support/move-fixture.js';

test('NFS backup targets keep their fields through the etcd key layout', () => {
  const data = emptyDb();
  const r: BackupTargetRecord = {
    id: 't1',
    kind: 'nfs',
    name: 'nas1',
    server: '10.0.2.50',
    exportPath: '/srv/backups',
    version: '4.2',
    options: ['nconnect=4'],
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  data.backupTargets.push(r);
  assert.deepEqual(unflattenConfig(flattenConfig(data)).backupTargets, [r]);
});

test('NFS backup targets: validation, roles, a target that cannot mount, a backup to it, schedules', async (t) => {
  const f = await startMoveFixture(1);
  t.after(() => f.stop());
  const api = f.s.admin;
  const input = { name: 'nas1', server: '10.0.2.50', exportPath: '/srv/backups', version: '4.2', options: [] };
  const post = (body: unknown, client = api) =>
    client.request<{ error: { message: string; field: string } }>('POST', '/api/v1/backup-targets/nfs', { body });

  for (const [over, field] of [
    [{ server: 'nas;reboot' }, 'server'],
    [{ exportPath: '/srv/../etc' }, 'exportPath'],
    [{ version: '3' }, 'version'],
    [{ options: ['nconnect=4', 'hard'] }, 'options[1]'],
    [{ name: '../x' }, 'name'],
  ] as const) {
    const r = await post({ ...input, ...over });
    assert.equal(r.status, 400, JSON.stringify(over));
    assert.equal(r.json.error.field, field, r.text);
  }
  const viewer = await f.s.userWithRole('viewer');
  const operator = await f.s.userWithRole('operator');
  assert.equal((await post(input, operator)).status, 403, 'operators do not add targets');

  const created = await api.request<NfsTargetDto>('POST', '/api/v1/backup-targets/nfs', { body: input });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.pool, 'nfs:nas1');
  assert.equal((await post(input)).status, 409, 'names are unique');
  // This kernel has no NFS client: the real agent's reason is what the operator sees.
  const [listed] = (await viewer.request<NfsTargetDto[]>('GET', '/api/v1/backup-targets/nfs')).json;
  assert.equal(listed?.state, 'error');
  assert.match(listed!.error, /NFS backup target nas1 \(10\.0\.2\.50:\/srv\/backups\) cannot be mounted/);
  assert.deepEqual(listed!.vms, []);

  // A backup to it is a failed task naming the target and why; nothing is listed.
  const vm = await f.vm(srvName('nfs'), f.pools[0]!);
  const started = await api.request<TaskDto>('POST', `/api/v1/vms/${vm}/backups`, { body: { pool: 'nfs:nas1' } });
  assert.equal(started.status, 202, started.text);
  const task = await f.taskDone(started.json);
  assert.equal(task.status, 'failed');
  assert.match(task.error ?? '', /NFS backup target nas1 .* cannot be mounted/);
  const unknown = await api.request('POST', `/api/v1/vms/${vm}/backups`, { body: { pool: 'nfs:nope' } });
  assert.equal(unknown.status, 400, unknown.text);
  const points = (await api.request<BackupDto[]>('GET', `/api/v1/vms/${vm}/backups`)).json;
  assert.deepEqual(points, []);

  // A schedule may back up to it, and keeps it from removal while it does.
  const schedule = await api.request<BackupScheduleDto>('POST', '/api/v1/backup-schedules', {
    body: {
      name: 'to-nas',
      cron: '0 3 * * *',
      selection: { vmIds: [vm], tags: [], clusterIds: [] },
      pool: 'nfs:nas1',
      enabled: false,
    },
  });
  assert.equal(schedule.status, 201, schedule.text);
  const id = created.json.id;
  assert.equal((await operator.request('DELETE', `/api/v1/backup-targets/nfs/${id}`)).status, 403);
  const refused = await api.request('DELETE', `/api/v1/backup-targets/nfs/${id}`);
  assert.equal(refused.status, 409);
  assert.match(refused.text, /schedule to-nas/);
  assert.equal((await api.request('DELETE', `/api/v1/backup-schedules/${schedule.json.id}`)).status, 204);
  assert.equal((await api.request('DELETE', `/api/v1/backup-targets/nfs/${id}`)).status, 204);
  assert.deepEqual((await api.request<NfsTargetDto[]>('GET', '/api/v1/backup-targets/nfs')).json, []);
});
