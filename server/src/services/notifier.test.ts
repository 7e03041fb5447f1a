// Webhook delivery against loopback receivers: a receiver answering 500 once gets the event
// again (retry), byte-identical and signed; a webhook only gets the kinds and severities it
// chose; settings keep a secret that a save leaves out; a receiver that never answers does not
// hold up the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../store/db.js';
import type { EventDto } from '../dto/events.js';
import { eventually } from '../test-support/guest-pool.js';
import { Notifier, signature } from './notifier.js';

/** A receiver whose first `failures` requests get a 500. */
async function receiver(t: { after: (fn: () => unknown) => void }, failures = 0) {
  const bodies: { body: string; sig: string | undefined; status: number }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const status = bodies.length < failures ? 500 : 204;
      bodies.push({ body, sig: req.headers['x-quantix-signature'] as string | undefined, status });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, bodies };
}

const event = (kind: EventDto['kind'], severity: EventDto['severity']): EventDto => ({
  id: `${kind}-${severity}`,
  at: new Date().toISOString(),
  severity,
  kind,
  target: { type: 'vm', id: 'u1', name: 'web01', hostId: 'h1', hostName: 'kvm1' },
  message: `VM web01 ${kind}`,
});

test('qxt-srv notifier: retried after a 500, filtered by kind and severity, secret kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-notifier-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  const flaky = await receiver(t, 1);
  const hostsOnly = await receiver(t);
  const n = new Notifier(db);
  t.after(() => n.stop());
  await n.update({
    webhooks: [
      { url: flaky.url, kinds: [], minSeverity: 'info', secret: 's1' },
      { url: hostsOnly.url, kinds: ['host.offline'], minSeverity: 'error' },
    ],
  });

  n.notify(event('vm.crashed', 'error'));
  n.notify(event('host.offline', 'warning'));
  n.notify(event('host.offline', 'error'));
  await eventually('the three events at the first receiver, one of them twice', async () => flaky.bodies.length >= 4);
  const [first, second] = flaky.bodies;
  assert.equal(first!.status, 500);
  assert.equal(second!.body, first!.body, 'the failed delivery is sent again, unchanged');
  for (const b of flaky.bodies) assert.equal(b.sig, `sha256=${signature('s1', b.body)}`);
  await eventually('the host event at the second receiver', async () => hostsOnly.bodies.length >= 1);
  assert.deepEqual(
    hostsOnly.bodies.map((b) => (JSON.parse(b.body) as { event: EventDto }).event.id),
    ['host.offline-error'],
    'only the kind and severity it chose',
  );
  assert.equal(hostsOnly.bodies[0]!.sig, undefined, 'no secret, no signature');

  // A save that leaves the secret out keeps it; an empty one removes it.
  await n.update({ webhooks: [{ url: flaky.url, kinds: [], minSeverity: 'info' }] });
  assert.equal(db.data.notifications.webhooks[0]!.secret, 's1');
  const cleared = await n.update({ webhooks: [{ url: flaky.url, kinds: [], minSeverity: 'info', secret: '' }] });
  assert.equal(cleared.webhooks[0]!.hasSecret, false);
});

test('qxt-srv notifier: a receiver that does not answer delays only its own deliveries', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-notifier-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  // The stuck receiver keeps every request open (answered only when the test ends).
  const open: { res: ServerResponse; closed: boolean }[] = [];
  const stuck = createServer((_req, res) => {
    const entry = { res, closed: false };
    res.on('close', () => (entry.closed = true));
    open.push(entry);
  });
  await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const o of open) o.res.end();
    return new Promise<void>((r) => stuck.close(() => r()));
  });
  const healthy = await receiver(t);
  const n = new Notifier(db);
  t.after(() => n.stop());
  await n.update({
    webhooks: [
      { url: `http://127.0.0.1:${(stuck.address() as AddressInfo).port}/`, kinds: [], minSeverity: 'info' },
      { url: healthy.url, kinds: [], minSeverity: 'info' },
    ],
  });
  n.notify(event('vm.crashed', 'error'));
  n.notify(event('host.offline', 'error'));
  await eventually('both events at the healthy receiver', async () => healthy.bodies.length >= 2);
  await eventually('the first delivery at the stuck receiver', async () => open.length >= 1);
  // Had the stuck receiver held the line, its first delivery would have timed out and been
  // retried twice before the healthy one got anything.
  assert.equal(open.length, 1, 'the stuck receiver has its first delivery only');
  assert.equal(open[0]!.closed, false, 'still waiting for its answer');
});
