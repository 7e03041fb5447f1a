// Where a live migration's time goes between the hosts (#20): the agents' mutual-TLS migration pipe
// (agent/src/migration/tls-pipe.ts) against a plain TCP relay through two Node hops and a direct
// socket, in the same run. Bulk MiB/s (memory pre-copy, NBD) and the round trip of a small message
// (NBD requests and libvirt RPCs wait for their replies): the hops, not the bytes, cost the most.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createSelfSigned, issueCertificateForKeyOf } from '@quantix/proto/tls/certificates.js';
import { dialPipe, openPipeServer } from '../../agent/src/migration/tls-pipe.js';
import { agentUrn } from '../../agent/src/identity/agent-certificate.js';

const BULK = 256 * 1024 * 1024;
const ROUND_TRIPS = 2000;
const dir = await mkdtemp(join(tmpdir(), 'qx-pipe-bench-'));
const listen = (s: Server, at: string | number) =>
  new Promise<void>((r) => (typeof at === 'string' ? s.listen(at, () => r()) : s.listen(at, '127.0.0.1', () => r())));
const portOf = (s: Server) => (s.address() as { port: number }).port;

// The far end: a sink that answers once it has everything, an echo for round trips.
const sinkPath = join(dir, 'sink.sock');
const echoPath = join(dir, 'echo.sock');
const sink = createServer((s) => {
  let n = 0;
  s.on('data', (b: Buffer) => {
    n += b.length;
    if (n >= BULK) s.end('k');
  });
});
const echo = createServer((s) => s.pipe(s));
await listen(sink, sinkPath);
await listen(echo, echoPath);

type Wrap = (local: Socket, target: string) => void;
/** A local TCP front whose one accepted connection `wrap` carries to `target`. */
async function front(wrap: Wrap, target: string): Promise<Socket> {
  const f = createServer((s) => {
    f.close();
    wrap(s, target);
  });
  await listen(f, 0);
  const c = connect(portOf(f), '127.0.0.1');
  c.setNoDelay(true);
  return c;
}

async function bulk(wrap: Wrap): Promise<number> {
  const c = await front(wrap, sinkPath);
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const chunk = Buffer.alloc(1 << 20, 1);
    let sent = 0;
    const pump = () => {
      while (sent < BULK) {
        sent += chunk.length;
        if (!c.write(chunk)) return void c.once('drain', pump);
      }
    };
    c.on('data', () => resolve());
    pump();
  });
  c.destroy();
  return BULK / 1048576 / ((performance.now() - t0) / 1000);
}

async function roundTrip(c: Socket): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    await new Promise((r) => {
      c.once('data', r);
      c.write(Buffer.alloc(64));
    });
  }
  c.destroy();
  return ((performance.now() - t0) / ROUND_TRIPS) * 1000;
}

// Plain: one Node relay per side, TCP between them (what the pipe is minus TLS and the header).
let relayTarget = sinkPath;
const relayB = createServer((s) => {
  s.setNoDelay(true);
  const d = connect(relayTarget);
  s.pipe(d).pipe(s);
});
await listen(relayB, 0);
const plain: Wrap = (local, target) => {
  relayTarget = target;
  const t = connect(portOf(relayB), '127.0.0.1');
  t.setNoDelay(true);
  local.pipe(t).pipe(local);
};

// The migration pipe with real vDC-style credentials.
const ca = await createCa('bench vDC CA', 1);
const dest = await createSelfSigned({ commonName: 'dest agent', days: 1, usages: ['server'] });
const src = await createSelfSigned({ commonName: 'source agent', days: 1, usages: ['server'] });
const cert = await issueCertificateForKeyOf(ca, src.certPem, {
  commonName: 'source',
  uris: [agentUrn('src')],
  days: 1,
  usages: ['client'],
});
const ticket = 't'.repeat(43);
let pipeTarget = sinkPath;
const pipe = await openPipeServer({
  host: '127.0.0.1',
  keyPem: dest.keyPem,
  certPem: dest.certPem,
  caPem: ca.certPem,
  admission: { migrationId: 'bench', ticket, sourceHostId: 'src', target: () => pipeTarget },
});
const tls: Wrap = (local, target) => {
  pipeTarget = target;
  dialPipe(
    local,
    {
      host: '127.0.0.1',
      port: pipe.port,
      destCertPem: dest.certPem,
      keyPem: src.keyPem,
      certPem: cert,
      ticket,
      channel: 'memory',
    },
    () => undefined,
  );
};

try {
  const plainMibs = await bulk(plain);
  const tlsMibs = await bulk(tls);
  const direct = await roundTrip(connect(echoPath));
  const plainRtt = await roundTrip(await front(plain, echoPath));
  const tlsRtt = await roundTrip(await front(tls, echoPath));
  const f = (n: number) => n.toFixed(0);
  console.log(`bulk 256 MiB: plain relay ${f(plainMibs)} MiB/s, mTLS pipe ${f(tlsMibs)} MiB/s`);
  console.log(
    `round trip 64 B: direct ${f(direct)} us, plain relay ${f(plainRtt)} us, mTLS pipe ${f(tlsRtt)} us (${(tlsRtt / direct).toFixed(1)}x direct)`,
  );
} finally {
  pipe.close();
  for (const s of [sink, echo, relayB]) s.close();
  await rm(dir, { recursive: true, force: true });
}
