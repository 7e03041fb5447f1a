// Backup schedules on an etcd control plane (#24): a schedule made through one server is listed by
// the other with the same next run, a change through the second (disable) and a delete through the
// first are seen by both; a bad cron is refused naming the field on either.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupScheduleDto } from '../../server/src/dto/backups.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { startControlPlane, type ControlPlane, type ServerInstance } from './control-plane.js';

describe('control plane on etcd: backup schedules', () => {
  let plane: ControlPlane;
  let a: ServerInstance;
  let b: ServerInstance;
  before(async () => {
    plane = await startControlPlane();
    a = await plane.startServer('a');
    b = await plane.startServer('b');
  });
  after(async () => {
    await plane?.close();
  });

  const list = async (s: ServerInstance) =>
    (await s.api.request<BackupScheduleDto[]>('GET', '/api/v1/backup-schedules')).json;

  it('shares schedules between the servers', async () => {
    const body = {
      name: 'nightly',
      cron: '30 2 * * *',
      selection: { vmIds: [], tags: ['prod'], clusterIds: [] },
      pool: 'backup',
      keepLast: 7,
      enabled: true,
    };
    const bad = await b.api.request<{ error: { field: string } }>('POST', '/api/v1/backup-schedules', {
      body: { ...body, cron: '30 24 * * *' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, 'cron.hour');

    const made = await a.api.request<BackupScheduleDto>('POST', '/api/v1/backup-schedules', { body });
    assert.equal(made.status, 201, made.text);
    const seen = await eventually('the schedule on server b', async () =>
      (await list(b)).find((s) => s.id === made.json.id),
    );
    assert.equal(seen.nextRunAt, made.json.nextRunAt);
    assert.equal(seen.keepLast, 7);

    const off = await b.api.request<BackupScheduleDto>('PATCH', `/api/v1/backup-schedules/${seen.id}`, {
      body: { ...body, enabled: false },
    });
    assert.equal(off.status, 200, off.text);
    await eventually('disabled on server a', async () => (await list(a)).find((s) => s.id === seen.id && !s.enabled));

    assert.equal((await a.api.request('DELETE', `/api/v1/backup-schedules/${seen.id}`)).status, 204);
    await eventually('gone on server b', async () => (await list(b)).length === 0);
  });
});
