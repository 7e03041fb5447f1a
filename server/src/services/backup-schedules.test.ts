// Backup schedules against a real server, agent, libvirt and qemu-img (#24; the VMs stay shut off,
// so no guest boots): a bad cron is refused naming the field; a due schedule (the tick given the
// time) backs up the VMs carrying its tag and only those, prunes by its retention, a run missed
// while no server ran says so in its tasks; a run whose pool is missing fails each VM's task and
// records backup.failed events; one backup per VM at a time; viewers only read. Also: schedules
// survive the etcd key layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupDto, BackupScheduleDto, BackupScheduleRunDto } from '../dto/backups.js';
import type { EventDto } from '../dto/events.js';
import type { TaskDto } from '../dto/tasks.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, emptyDb } from '../store/db.js';
import { BackupScheduleRepo } from '../store/backup-schedule-repo.js';
import { BackupSchedules } from './backup-schedules.js';
import { flattenConfig, unflattenConfig } from '../store/config-keys.js';
import type { BackupScheduleRecord } from '../store/records.js';
import { eventually, srvName } from '../test-support/guest-pool.js';
import { startMoveFixture } from '../test-support/move-fixture.js';

test('backup schedules keep their fields through the etcd key layout', () => {
  const data = emptyDb();
  const s: BackupScheduleRecord = {
    id: 's1',
    name: 'nightly',
    cron: '0 3 * * *',
    selection: { vmIds: [], tags: ['prod'], clusterIds: ['c1'] },
    pool: 'backup',
    keepLast: 3,
    enabled: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    lastDueAt: '2026-01-01T00:00:00.000Z',
    lastRun: null,
  };
  data.backupSchedules.push(s);
  assert.deepEqual(unflattenConfig(flattenConfig(data)).backupSchedules, [s]);
});

test('a run cut short by a server stop is recorded as failed when the schedules start again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-sched-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  const repo = new BackupScheduleRepo(db);
  const now = new Date().toISOString();
  await repo.add({
    id: 's1',
    name: 'nightly',
    cron: '0 3 * * *',
    selection: { vmIds: [], tags: ['prod'], clusterIds: [] },
    pool: 'backup',
    enabled: true,
    createdAt: now,
    lastDueAt: now,
    lastRun: {
      startedAt: now,
      finishedAt: null,
      status: 'running',
      trigger: 'schedule',
      message: 'backing up 2 VMs',
      taskIds: [],
    },
  });
  // Nothing is due, so the schedules reach neither hosts nor backups here.
  const schedules = new BackupSchedules(repo, undefined as never, undefined as never);
  schedules.start();
  t.after(() => schedules.stop());
  const run = await eventually('the run ended', async () => {
    const r = (await Db.open(dir)).data.backupSchedules[0]!.lastRun!;
    return r.status !== 'running' && r;
  });
  assert.equal(run.status, 'failed');
  assert.match(run.message, /backing up 2 VMs; the server stopped during the run/);
  assert.ok(run.finishedAt);
});

test('backup schedules: due by tag, retention, missed run, failures as events, run now', async (t) => {
  const f = await startMoveFixture(2);
  t.after(() => f.stop());
  const api = f.s.admin;
  const [source, target] = f.pools;
  const tagged = [await f.vm(srvName('sch-a'), source!), await f.vm(srvName('sch-b'), source!)];
  const other = await f.vm(srvName('sch-c'), source!);
  // A tag of this test only: the host's libvirt holds other tests' VMs too.
  const tag = srvName('nightly');
  for (const id of tagged) {
    const r = await api.request('PATCH', `/api/v1/vms/${id}`, { body: { tags: [tag] } });
    assert.equal(r.status, 200, r.text);
  }
  const schedule = (over: Record<string, unknown> = {}) => ({
    name: 'nightly',
    cron: '0 3 * * *',
    selection: { vmIds: [], tags: [tag], clusterIds: [] },
    pool: target!.name,
    keepLast: 1,
    enabled: true,
    ...over,
  });

  const bad = await api.request<{ error: { message: string; field: string } }>('POST', '/api/v1/backup-schedules', {
    body: schedule({ cron: '0 3 * 13 *' }),
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json.error, { message: 'cron.month: "13" is outside 1-12', field: 'cron.month' });
  const empty = await api.request('POST', '/api/v1/backup-schedules', {
    body: schedule({ selection: { vmIds: [], tags: [], clusterIds: [] } }),
  });
  assert.equal(empty.status, 400);
  assert.match(empty.text, /selection/);

  const created = await api.request<BackupScheduleDto>('POST', '/api/v1/backup-schedules', { body: schedule() });
  assert.equal(created.status, 201, created.text);
  const s = created.json;
  const due = new Date(s.nextRunAt!);
  assert.equal(due.getUTCHours(), 3);
  assert.ok(due.getTime() > Date.now());

  const viewer = await f.s.userWithRole('viewer');
  assert.equal((await viewer.request('GET', '/api/v1/backup-schedules')).status, 200);
  assert.equal((await viewer.request('POST', '/api/v1/backup-schedules', { body: schedule() })).status, 403);
  assert.equal((await viewer.request('POST', `/api/v1/backup-schedules/${s.id}/run`)).status, 403);

  const scheduler = f.s.services.backupSchedules;
  // Several VMs' backups run at once: on a loaded machine they take longer than taskDone's minute.
  const taskEnded = (id: string) =>
    eventually(
      `task ${id}`,
      async () => {
        const x = (await api.request<TaskDto>('GET', `/api/v1/tasks/${id}`)).json;
        return x.status !== 'running' && x;
      },
      600_000,
    );
  const tasksOf = async (run: BackupScheduleRunDto) => Promise.all(run.taskIds.map(taskEnded));
  const pointsOf = async (vmId: string) =>
    (await api.request<BackupDto[]>('GET', `/api/v1/vms/${vmId}/backups`)).json.filter((b) => b.pool === target!.name);
  // The run is recorded once its tasks ended (tasksOf waited for them).
  const lastRunEnded = () =>
    eventually('the run recorded on the schedule', async () => {
      const x = (await api.request<BackupScheduleDto[]>('GET', '/api/v1/backup-schedules')).json.find(
        (y) => y.id === s.id,
      );
      return x?.lastRun?.finishedAt ? x : undefined;
    });

  // A minute before it is due nothing runs; at the due time the two tagged VMs are backed up.
  assert.deepEqual(await scheduler.tick(new Date(due.getTime() - 60_000)), []);
  const [first, ...more] = await scheduler.tick(due);
  assert.equal(more.length, 0);
  assert.equal(first!.trigger, 'schedule');
  const firstTasks = await tasksOf(first!);
  assert.deepEqual(
    firstTasks.map((x) => [x.kind, x.status, x.error]),
    [
      ['vm.backup', 'succeeded', null],
      ['vm.backup', 'succeeded', null],
    ],
  );
  assert.deepEqual(firstTasks.map((x) => x.target.id).sort(), [...tagged].sort());
  const firstPoints = await Promise.all(tagged.map(pointsOf));
  assert.deepEqual(
    firstPoints.map((p) => p.length),
    [1, 1],
  );
  assert.deepEqual(await pointsOf(other), [], 'a VM without the tag is not backed up');
  assert.equal((await lastRunEnded()).lastRun!.status, 'succeeded');

  // The next 03:00 passed while no server ran: the tick three hours later runs it once and says
  // so; keepLast 1 leaves only the new point of each VM.
  const next = new Date(due.getTime() + 86_400_000);
  const [missed] = await scheduler.tick(new Date(next.getTime() + 3 * 3_600_000));
  assert.equal(missed!.trigger, 'missed');
  const missedTasks = await tasksOf(missed!);
  assert.ok(missedTasks.every((x) => x.status === 'succeeded'));
  assert.ok(missedTasks.every((x) => x.log.some((l) => /missed while no server ran schedules/.test(l.message))));
  const kept = await Promise.all(tagged.map(pointsOf));
  assert.deepEqual(
    kept.map((p) => p.length),
    [1, 1],
  );
  assert.ok(
    kept.every((p, i) => p[0]!.id !== firstPoints[i]![0]!.id),
    'retention deleted the older point',
  );
  assert.equal((await lastRunEnded()).lastRun!.trigger, 'missed');

  // A disabled schedule is not run.
  const off = await api.request<BackupScheduleDto>('PATCH', `/api/v1/backup-schedules/${s.id}`, {
    body: schedule({ enabled: false }),
  });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.nextRunAt, null);
  assert.deepEqual(await scheduler.tick(new Date(next.getTime() + 7 * 86_400_000)), []);

  // Run now of a schedule whose pool the host lacks: each VM's task fails, the events log has
  // backup.failed naming the VM and the pool, the schedule's last run failed.
  const broken = (
    await api.request<BackupScheduleDto>('POST', '/api/v1/backup-schedules', {
      body: schedule({ name: 'broken', pool: 'no-such-pool' }),
    })
  ).json;
  const r = await api.request<BackupScheduleRunDto>('POST', `/api/v1/backup-schedules/${broken.id}/run`);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.trigger, 'manual');
  const failed = await tasksOf(r.json);
  assert.ok(failed.every((x) => x.status === 'failed' && /no pool no-such-pool/.test(x.error ?? '')));
  const events = await eventually('backup.failed events', async () => {
    const list = (await api.request<EventDto[]>('GET', '/api/v1/event-log?kind=backup.failed')).json;
    return list.length >= 2 && list;
  });
  for (const name of failed.map((x) => x.target.name)) {
    assert.ok(
      events.some((e) => e.severity === 'error' && e.message.includes(name) && e.message.includes('no-such-pool')),
    );
  }

  // One backup per VM at a time: two runs started together back each VM up once, the other skips it.
  // (A schedule by cluster is not run here: this host's libvirt holds other tests' VMs too.)
  const both = await Promise.all([scheduler.runNow(s.id, 'test'), scheduler.runNow(s.id, 'test')]);
  const started = await Promise.all(both.map(tasksOf));
  assert.deepEqual(
    started
      .flat()
      .map((x) => x.target.id)
      .sort(),
    [...tagged].sort(),
  );
  assert.equal(both.map((x) => x.message.match(/skipped: VM .+? is being backed up now/g) ?? []).flat().length, 2);

  assert.equal((await api.request('DELETE', `/api/v1/backup-schedules/${broken.id}`)).status, 204);
  assert.deepEqual(
    (await api.request<BackupScheduleDto[]>('GET', '/api/v1/backup-schedules')).json.map((x) => x.name),
    ['nightly'],
  );
});
