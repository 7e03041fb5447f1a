// /metrics arithmetic: task durations are a per-kind summary in seconds (failed tasks count too);
// API latency is a cumulative histogram per operation and status class (a bound is inclusive,
// +Inf equals the count). The whole path through a real server: host-connection.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentPool } from '../agents/agent-pool.js';
import { TaskRepo } from '../store/log-repo.js';
import { histogramBuckets, metricSample } from '../test-support/prometheus-text.js';
import { EventHub } from './event-hub.js';
import { MetricsService } from './metrics-service.js';
import { TaskService } from './task-service.js';

const noHosts = { all: () => [] } as unknown as AgentPool;
const info = (kind: string) => ({ kind, target: { type: 'vm', id: 'v1', name: 'web01' }, hostId: null, user: 'admin' });

test('metrics: task durations by kind, API latency histograms by operation and status class', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-metrics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const repo = await TaskRepo.open(dir);
  t.after(() => repo.close());
  const tasks = new TaskService(repo, new EventHub());
  const metrics = new MetricsService(noHosts, tasks);

  const began = Date.now();
  await tasks.runToEnd(info('vm.create'), () => sleep(100));
  await tasks.runToEnd(info('vm.create'), async () => undefined);
  const failed = await (await tasks.start(info('volume.clone'), () => Promise.reject(new Error('disk full')))).done;
  const wallSeconds = (Date.now() - began) / 1000;
  assert.equal(failed.status, 'failed');

  metrics.observeRequest('getVm', 200, 0.003);
  metrics.observeRequest('getVm', 200, 0.1); // exactly on a bound: inside le="0.1"
  metrics.observeRequest('getVm', 404, 0.02);
  metrics.observeRequest('startVm', 503, 12); // above every finite bound
  const text = metrics.render();

  assert.match(text, /^# TYPE quantix_task_duration_seconds summary$/m);
  assert.equal(metricSample(text, 'quantix_task_duration_seconds_count{kind="vm.create"}'), 2);
  const createSum = metricSample(text, 'quantix_task_duration_seconds_sum{kind="vm.create"}');
  assert.ok(
    createSum >= 0.09 && createSum <= wallSeconds,
    `vm.create sum ${createSum} s (one task slept 100 ms; all ran in ${wallSeconds} s)`,
  );
  assert.equal(
    metricSample(text, 'quantix_task_duration_seconds_count{kind="volume.clone"}'),
    1,
    'failed tasks are timed too',
  );

  assert.match(text, /^# TYPE quantix_api_request_duration_seconds histogram$/m);
  const h = 'quantix_api_request_duration_seconds';
  const ok = 'operation="getVm",status="2xx"';
  assert.deepEqual(
    histogramBuckets(text, h, ok).map((b) => [b.le, b.count]),
    [
      [0.005, 1],
      [0.01, 1],
      [0.025, 1],
      [0.05, 1],
      [0.1, 2],
      [0.25, 2],
      [0.5, 2],
      [1, 2],
      [2.5, 2],
      [5, 2],
      [10, 2],
    ],
  );
  assert.equal(metricSample(text, `${h}_bucket{${ok},le="+Inf"}`), 2);
  assert.equal(metricSample(text, `${h}_count{${ok}}`), 2);
  assert.ok(Math.abs(metricSample(text, `${h}_sum{${ok}}`) - 0.103) < 1e-9);

  const notFound = 'operation="getVm",status="4xx"';
  assert.equal(metricSample(text, `${h}_count{${notFound}}`), 1, 'a 404 is its own series');
  assert.equal(metricSample(text, `${h}_bucket{${notFound},le="0.025"}`), 1);
  assert.equal(metricSample(text, `${h}_bucket{${notFound},le="0.01"}`), 0);

  const slow = 'operation="startVm",status="5xx"';
  assert.ok(
    histogramBuckets(text, h, slow).every((b) => b.count === 0),
    'a 12 s request is in no finite bucket',
  );
  assert.equal(metricSample(text, `${h}_bucket{${slow},le="+Inf"}`), 1);
  assert.equal(metricSample(text, `${h}_sum{${slow}}`), 12);
});

test('metrics: requests refused before anyone was identified are counted by reason and status', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-metrics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const repo = await TaskRepo.open(dir);
  t.after(() => repo.close());
  const metrics = new MetricsService(noHosts, new TaskService(repo, new EventHub()));
  for (let i = 0; i < 3; i++) metrics.refuse('no-credentials', 401);
  metrics.refuse('invalid-credentials', 401);
  metrics.refuse('sign-in-refused', 429);
  const text = metrics.render();
  assert.match(text, /^# TYPE quantix_unauthenticated_requests_total counter$/m);
  const c = 'quantix_unauthenticated_requests_total';
  assert.equal(metricSample(text, `${c}{reason="no-credentials",status="401"}`), 3);
  assert.equal(metricSample(text, `${c}{reason="invalid-credentials",status="401"}`), 1);
  assert.equal(metricSample(text, `${c}{reason="sign-in-refused",status="429"}`), 1);
});
