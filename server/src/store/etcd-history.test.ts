// Task, audit and event history shared through a real etcd: a server that becomes leader lists
// the tasks another server recorded, in creation order with its own, and fails those still
// running there; audit pages hold every server's entries, newest first, paging back through them;
// event pages are filtered across every server's events; the oldest keys are pruned past the
// bound; values are sealed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '../test-support/etcd-cluster.js';
import { EventHub } from '../services/event-hub.js';
import { TaskService } from '../services/task-service.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdHistory } from './etcd-history.js';
import { AuditRepo, TaskRepo } from './log-repo.js';
import { EventRepo } from './event-repo.js';
import type { AuditRecord, TaskRecord } from './records.js';
import { SecretBox } from './secret-box.js';

const task = (id: string, createdAt: string, status: TaskRecord['status']): TaskRecord => ({
  id,
  kind: 'vm.start',
  target: { type: 'vm', id: 'u1', name: 'web01' },
  hostId: 'h1',
  status,
  progress: null,
  phase: '',
  log: [],
  error: null,
  result: null,
  user: 'admin',
  createdAt,
  finishedAt: status === 'running' ? null : createdAt,
});

const entry = (id: string, at: string, user: string): AuditRecord => ({
  id,
  at,
  user,
  action: 'vm.start',
  method: 'POST',
  path: '/api/v1/vms/u1/start',
  target: 'u1',
  result: 'ok',
  status: 202,
  detail: '',
  remote: '127.0.0.1',
});

describe('history shared through etcd (a real etcd)', () => {
  let cluster: EtcdCluster;
  let dir: string;
  const clients: ReturnType<typeof createEtcdClient>[] = [];
  const closers: (() => Promise<void>)[] = [];
  let box: SecretBox;
  const history = (limits?: { tasks: number; audit: number; events: number }) => {
    const client = createEtcdClient({ kind: 'etcd', endpoints: cluster.endpoints.split(',') });
    clients.push(client);
    return new EtcdHistory(client, box, limits);
  };
  before(async () => {
    cluster = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), 'qxt-etcd-history-'));
    box = await SecretBox.create(dir);
  });
  after(async () => {
    for (const close of closers) await close();
    for (const c of clients) c.close();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the new leader lists the tasks another server recorded and fails those still running there', async () => {
    const a = await TaskRepo.open(join(dir, 'a'), history());
    const b = await TaskRepo.open(join(dir, 'b'), history());
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    await b.add(task('b-own', '2026-12-05T07:00:00.000Z', 'succeeded'));
    await a.add(task('a-done', '2026-12-05T06:00:00.000Z', 'succeeded'));
    const running = task('a-running', '2026-12-05T08:00:00.000Z', 'running');
    await a.add(running);
    running.progress = 40; // in memory only, as a task's progress is

    const tasks = new TaskService(b, new EventHub());
    await tasks.adoptShared();
    assert.deepEqual(
      b.list().map((t) => [t.id, t.status]),
      [
        ['a-done', 'succeeded'],
        ['b-own', 'succeeded'],
        ['a-running', 'failed'],
      ],
      'every server’s tasks, in creation order',
    );
    assert.match(b.byId('a-running')!.error!, /stopped leading before it finished/);

    // The failure is shared too: a third server taking over later has nothing left to fail.
    const c = await TaskRepo.open(join(dir, 'c'), history());
    closers.push(() => c.close());
    assert.deepEqual(await c.adoptShared(), []);
    assert.equal(c.byId('a-running')?.status, 'failed');
  });

  it('audit pages hold every server’s entries, newest first, and page back through them', async () => {
    const a = await AuditRepo.open(join(dir, 'a'), history());
    const b = await AuditRepo.open(join(dir, 'b'), history());
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    await a.add(entry('e1', '2026-12-05T07:00:01.000Z', 'alice'));
    await b.add(entry('e2', '2026-12-05T07:00:02.000Z', 'bob (sign-in on b)'));
    await a.add(entry('e3', '2026-12-05T07:00:03.000Z', 'alice'));
    const first = await a.page(2);
    assert.deepEqual(
      first.map((e) => e.id),
      ['e3', 'e2'],
    );
    assert.deepEqual(
      (await a.page(2, 'e2')).map((e) => e.id),
      ['e1'],
    );
    assert.deepEqual(await a.page(2, 'unknown'), []);
    // What etcd holds is sealed: the user names are not readable there.
    const raw = await clients[0]!.getAll().prefix('/quantix/history/audit/').strings();
    assert.ok(Object.values(raw).every((v) => !v.includes('alice')));
  });

  it('event pages are filtered across every server’s events, reaching back past one read', async () => {
    const a = await EventRepo.open(join(dir, 'a'), history());
    const b = await EventRepo.open(join(dir, 'b'), history());
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    // 300 events, more than one read of etcd holds; every 50th an error, alternately on a and b.
    for (let i = 0; i < 300; i++) {
      const at = new Date(Date.UTC(2026, 11, 5, 8, 0, 0, i)).toISOString();
      await (i % 2 ? b : a).add({
        id: `ev${i}`,
        at,
        severity: i % 50 === 0 ? 'error' : 'info',
        kind: 'vm.state',
        target: { type: 'vm', id: 'u1', name: 'web01', hostId: 'h1', hostName: 'kvm1' },
        message: `event ${i}`,
      });
    }
    const errors = await b.page(4, (e) => e.severity === 'error');
    assert.deepEqual(
      errors.map((e) => e.id),
      ['ev250', 'ev200', 'ev150', 'ev100'],
    );
    assert.deepEqual(
      (await a.page(4, (e) => e.severity === 'error', 'ev100')).map((e) => e.id),
      ['ev50', 'ev0'],
    );
  });

  it('keeps the newest records past the bound', async () => {
    const h = history({ tasks: 2, audit: 3, events: 3 });
    for (let i = 1; i <= 5; i++) await h.putAudit(entry(`p${i}`, `2026-12-05T09:00:0${i}.000Z`, 'carol'));
    await h.prune('audit');
    const left = await h.page<AuditRecord>('audit', 10, () => true);
    assert.deepEqual(
      left.map((e) => e.id),
      ['p5', 'p4', 'p3'],
    );
  });
});
