import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchEvent } from '@quantix/proto/v1/host.js';
import { startTestAgent } from '../test-support/agent-harness.js';
import { MAX_METRICS_MS, MIN_METRICS_MS, metricsInterval } from './host-handlers.js';

test('metrics period: 0 is the 5 s default, others are held between 1 s and 1 h', () => {
  assert.equal(metricsInterval(0), 5_000);
  assert.equal(metricsInterval(1), MIN_METRICS_MS);
  assert.equal(metricsInterval(999), 1_000);
  assert.equal(metricsInterval(2_500), 2_500);
  assert.equal(metricsInterval(2 ** 32 - 1), MAX_METRICS_MS);
});

test('Watch with a 1 ms or a 2^32-1 ms period does not sample continuously', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const counts = await Promise.all(
    [1, 2 ** 32 - 1].map(async (metricsIntervalMs) => {
      const call = agent.clients.host.watch({ metricsIntervalMs });
      let metrics = 0;
      call.on('data', (e: WatchEvent) => {
        if (e.event?.$case === 'hostMetrics') metrics++;
      });
      call.on('error', () => undefined);
      await new Promise((r) => setTimeout(r, 1_500));
      call.cancel();
      return metrics;
    }),
  );
  assert.ok(counts[0]! <= 2, `1 ms asked: ${counts[0]} host metrics in 1.5 s (at most one a second)`);
  assert.equal(counts[1], 0, '2^32-1 ms asked: no host metrics in 1.5 s');
});
