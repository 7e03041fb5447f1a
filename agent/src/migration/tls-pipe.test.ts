// The migration pipe port admits only the migration's source agent (vDC-issued certificate naming
// that host) with the right ticket, carries bytes both ways, and is gone once closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createSelfSigned, issueCertificateForKeyOf } from '@quantix/proto/tls/certificates.js';
import { agentUrn } from '../identity/agent-certificate.js';
import { dialPipe, openPipeServer } from './tls-pipe.js';

const TICKET = 'a'.repeat(43);

/** Sends `payload` through a pipe opened with `opts`; resolves with what came back before the close. */
function roundTrip(dial: (local: Socket) => void, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A local socket pair: `outer` is what libvirt/QEMU would hold on the source side.
    const srv = createServer((inner) => {
      srv.close();
      dial(inner);
    });
    srv.listen(0, '127.0.0.1', () => {
      const outer = netConnect((srv.address() as { port: number }).port, '127.0.0.1');
      const got: Buffer[] = [];
      outer.on('data', (b: Buffer) => {
        got.push(b);
        if (Buffer.concat(got).length >= payload.length) outer.end();
      });
      outer.on('close', () => resolve(Buffer.concat(got)));
      outer.on('error', reject);
      outer.write(payload);
    });
  });
}

test('the migration pipe: only the source agent with the ticket reaches the target; closed after', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qx-pipe-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The destination's target: an echo server on a UNIX socket (as QEMU's incoming socket would be).
  const target = join(dir, 'mem.sock');
  let reached = 0;
  const echo: Server = createServer((s) => {
    reached++;
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(target, () => r()));
  t.after(() => echo.close());

  const ca = await createCa('vDC CA', 1);
  const dest = await createSelfSigned({ commonName: 'dest agent', days: 1, usages: ['server'] });
  const source = await createSelfSigned({ commonName: 'source agent', days: 1, usages: ['server'] });
  const clientCert = (id: string, by = ca) =>
    issueCertificateForKeyOf(by, source.certPem, {
      commonName: 'a',
      uris: [agentUrn(id)],
      days: 1,
      usages: ['client'],
    });
  const pipe = await openPipeServer({
    host: '127.0.0.1',
    keyPem: dest.keyPem,
    certPem: dest.certPem,
    caPem: ca.certPem,
    admission: {
      migrationId: 'm',
      ticket: TICKET,
      sourceHostId: 'src-host',
      target: (channel) => {
        if (channel !== 'memory') throw new Error('unknown channel');
        return target;
      },
    },
  });
  let pipeClosed = false;
  t.after(() => pipeClosed || pipe.close());
  const dial =
    (certPem: string, ticket = TICKET, channel = 'memory') =>
    (local: Socket) =>
      dialPipe(
        local,
        {
          host: '127.0.0.1',
          port: pipe.port,
          destCertPem: dest.certPem,
          keyPem: source.keyPem,
          certPem,
          ticket,
          channel,
        },
        () => undefined,
      );
  const payload = Buffer.alloc(3 * 1024 * 1024, 7);

  const good = await clientCert('src-host');
  assert.deepEqual(await roundTrip(dial(good), payload), payload, 'bytes cross both ways');
  assert.equal(reached, 1);

  // Refused without a byte reaching the target: wrong ticket, unknown channel, another host's
  // certificate of the same vDC, a certificate of another CA.
  assert.equal((await roundTrip(dial(good, 'b'.repeat(43)), Buffer.from('x'))).length, 0);
  assert.equal((await roundTrip(dial(good, TICKET, 'libvirt'), Buffer.from('x'))).length, 0);
  assert.equal((await roundTrip(dial(await clientCert('other-host')), Buffer.from('x'))).length, 0);
  const otherCa = await createCa('other CA', 1);
  assert.equal((await roundTrip(dial(await clientCert('src-host', otherCa)), Buffer.from('x'))).length, 0);
  assert.equal(reached, 1, 'no refused connection reached the target');

  // No client certificate at all: the TLS handshake fails.
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = tlsConnect({
        host: '127.0.0.1',
        port: pipe.port,
        ca: dest.certPem,
        checkServerIdentity: () => undefined,
      });
      s.on('secureConnect', () => s.write('QXMIG1 x memory\n'));
      s.on('data', resolve);
      s.on('error', reject);
      s.on('close', () => reject(new Error('closed')));
    }),
  );

  // Closed: the port no longer accepts connections.
  pipe.close();
  pipeClosed = true;
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = netConnect(pipe.port, '127.0.0.1', () => resolve(s.destroy()));
      s.on('error', reject);
    }),
    /ECONNREFUSED/,
  );
});
