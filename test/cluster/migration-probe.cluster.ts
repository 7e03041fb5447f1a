// Nobody outside the vDC gets into a migration (two real hosts): while a live migration A → B copies
// its disk, every port the destination opened for it — QEMU's migration port, QEMU's NBD server for
// the disk copy (TLS after NBD_OPT_STARTTLS) and the agent's pipe — is probed from outside with a
// real TLS client, once without a certificate and once with a certificate from another CA. Each is
// refused; the NBD server refuses any option before TLS; the migration itself goes on undisturbed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import { migrationTlsName } from '@quantix/proto/tls/migration-tls.js';
import { sameFingerprint } from '@quantix/proto/tls/pinned-credentials.js';
import { FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, greetingFlags, IHAVEOPT } from '../../agent/src/nbd/protocol.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { extraPorts, migrate, oneCopyOn } from './migration-checks.js';
import { B_IP, startTwoHosts } from './two-hosts.js';

const exec = promisify(execFile);
const OPT_LIST = 3;
const OPT_STARTTLS = 5;
const REP_ACK = 1;
const REP_ERR_TLS_REQD = 2 ** 31 + 5;
const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
/** libvirt's migration_port_min/max (qemu.conf): QEMU's migration and NBD listeners. */
const MIGRATION_PORTS = [49152, 49215] as const;
/** Longer than any answer or refusal takes: a server silent that long is a failure either way. */
const SILENT_AFTER_MS = 60_000;

/** Reads exactly n bytes at a time from a plain socket. */
class Reader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended = false;
  constructor(sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    sock.on('close', end);
    sock.on('error', end);
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`the server closed the connection (${this.buf.length}/${n} bytes)`);
      await new Promise<void>((r) => (this.wake = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** A TLS client's attempt: whether the server answered, how it ended, the certificate it showed. */
interface Attempt {
  answered: boolean;
  handshake: boolean;
  serverCert: X509Certificate | undefined;
  how: string;
}

/**
 * Runs a TLS handshake, sends `probe` once it completes and resolves when the server either answers
 * (it let the client in) or ends the connection; rejects if it does neither.
 */
function tlsAttempt(opts: ConnectionOptions, probe?: Buffer): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ rejectUnauthorized: false, ...opts });
    let handshake = false;
    let serverCert: X509Certificate | undefined;
    const guard = setTimeout(() => {
      s.destroy();
      reject(new Error(`the server kept the connection without a word (port ${opts.port ?? 'after STARTTLS'})`));
    }, SILENT_AFTER_MS);
    const done = (answered: boolean, how: string) => {
      clearTimeout(guard);
      s.destroy();
      resolve({ answered, handshake, serverCert, how });
    };
    s.on('secureConnect', () => {
      handshake = true;
      serverCert = s.getPeerX509Certificate();
      if (probe) s.write(probe);
    });
    s.on('data', () => done(true, 'answered'));
    s.on('error', (err: Error & { code?: string }) => done(false, err.code ?? err.message));
    s.on('close', () => done(false, 'closed'));
  });
}

/** An NBD option request without data. */
function nbdOptionRequest(opt: number): Buffer {
  const req = Buffer.alloc(16);
  req.writeBigUInt64BE(IHAVEOPT, 0);
  req.writeUInt32BE(opt, 8);
  req.writeUInt32BE(0, 12);
  return req;
}

async function nbdHandshake(port: number): Promise<{ sock: Socket; reader: Reader }> {
  const sock = netConnect({ host: B_IP, port });
  const reader = new Reader(sock);
  const flags = greetingFlags(await reader.read(18));
  const client = Buffer.alloc(4);
  client.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (flags & FLAG_NO_ZEROES));
  sock.write(client);
  return { sock, reader };
}

/** Sends option `opt` (no data) and returns the server's reply type. */
async function nbdOption(sock: Socket, reader: Reader, opt: number): Promise<number> {
  sock.write(nbdOptionRequest(opt));
  const head = await reader.read(20);
  assert.equal(head.readBigUInt64BE(0), OPTION_REPLY_MAGIC, 'an NBD option reply');
  await reader.read(head.readUInt32BE(16));
  return head.readUInt32BE(12);
}

test('a migration in flight: its ports on the destination refuse TLS clients without a vDC certificate', async (t) => {
  const cluster = await startTwoHosts();
  t.after(() => cluster.stop());
  const { api, a, b } = cluster;
  const vm = await cluster.createGuestVm(a, 'qxc-probe');
  const otherCa = await createCa('not the vDC CA', 1);
  // Everything a client of the vDC would present, except that another CA signed it.
  const stranger = await issueCertificate(otherCa, {
    commonName: `quantix agent ${a.name}`,
    uris: [`urn:quantix:agent:${a.id}`],
    dnsNames: [migrationTlsName(a.id)],
    days: 1,
    usages: ['server', 'client'],
  });
  const clients: [string, Partial<ConnectionOptions>][] = [
    ['no certificate', {}],
    ['another CA', { key: stranger.keyPem, cert: stranger.certPem, ca: otherCa.certPem }],
  ];

  // 1 MiB/s: the disk copy (and with it every port of the migration) lasts the whole probe.
  const started = await migrate(cluster, vm.id, b, 1);
  assert.equal(started.status, 202, started.text);
  const qemuPorts = await eventually(
    "QEMU's migration and NBD ports on B",
    async () => {
      const out = (await exec('ip', ['netns', 'exec', 'qxc-hostb', 'ss', '-Hltnp'])).stdout;
      const ports = out
        .split('\n')
        .filter((l) => l.includes('qemu-system'))
        .map((l) => Number(new RegExp(`\\s${B_IP.replaceAll('.', '\\.')}:(\\d+)\\s`).exec(l)?.[1]))
        .filter((p) => p >= MIGRATION_PORTS[0] && p <= MIGRATION_PORTS[1]);
      return ports.length >= 2 && ports;
    },
    240_000,
  );
  // Host A's agent wrote the vDC CA for QEMU when the migration began.
  const vdcCa = new X509Certificate(await readFile('/etc/pki/qemu/ca-cert.pem'));
  const pipePorts = (await extraPorts(cluster, b)).map((l) => Number(l.slice(l.lastIndexOf(':') + 1)));
  assert.equal(pipePorts.length, 1, "the agent's pipe for this migration");

  const hostB = (await api.request<HostDto>('GET', `/api/v1/hosts/${b.id}`)).json;
  const kinds: Record<number, string> = {};
  for (const port of [...qemuPorts, ...pipePorts]) {
    for (const [who, opts] of clients) {
      const r = await tlsAttempt({ host: B_IP, port, servername: migrationTlsName(b.id), ...opts });
      // An NBD server speaks first (its greeting): TLS comes after STARTTLS, probed below.
      if (['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'].includes(r.how)) {
        kinds[port] = 'nbd';
        break;
      }
      kinds[port] = pipePorts.includes(port) ? 'pipe' : 'migration';
      assert.equal(r.answered, false, `port ${port} answered a client with ${who}`);
      t.diagnostic(
        `${kinds[port]} port ${port}, ${who}: refused (${r.handshake ? 'after' : 'in'} the handshake: ${r.how})`,
      );
      if (r.serverCert && kinds[port] === 'pipe') {
        // The agent's pipe shows the agent's own certificate, the one the vDC pinned at join.
        assert.ok(sameFingerprint(r.serverCert.fingerprint256, hostB.fingerprint), `port ${port} is B's agent`);
      } else if (r.serverCert) {
        assert.ok(r.serverCert.checkIssued(vdcCa), `port ${port} shows a certificate of the vDC CA`);
        assert.equal(r.serverCert.checkHost(migrationTlsName(b.id)), migrationTlsName(b.id));
      }
    }
  }
  const nbd = Object.keys(kinds).filter((p) => kinds[Number(p)] === 'nbd');
  assert.equal(nbd.length, 1, `one NBD port among ${JSON.stringify(kinds)}`);
  assert.equal(Object.values(kinds).filter((k) => k === 'migration').length, 1, JSON.stringify(kinds));
  const nbdPort = Number(nbd[0]);

  // Without TLS the NBD server answers nothing but "TLS required".
  const plain = await nbdHandshake(nbdPort);
  assert.equal(await nbdOption(plain.sock, plain.reader, OPT_LIST), REP_ERR_TLS_REQD);
  plain.sock.destroy();
  // Host A's own migration certificate (vDC CA) gets in: the refusals are the certificates' doing.
  const vdcClient = {
    key: await readFile('/etc/pki/qemu/client-key.pem', 'utf8'),
    cert: await readFile('/etc/pki/qemu/client-cert.pem', 'utf8'),
  };
  for (const [who, opts] of [...clients, ['a vDC certificate', vdcClient] as const]) {
    const { sock, reader } = await nbdHandshake(nbdPort);
    assert.equal(await nbdOption(sock, reader, OPT_STARTTLS), REP_ACK);
    const r = await tlsAttempt(
      { socket: sock, servername: migrationTlsName(b.id), ...opts },
      nbdOptionRequest(OPT_LIST),
    );
    t.diagnostic(`NBD port ${nbdPort} after STARTTLS, ${who}: ${r.answered ? 'let in' : 'refused'} (${r.how})`);
    assert.equal(r.answered, who === 'a vDC certificate', `NBD over TLS with ${who}`);
    sock.destroy();
  }

  // The probes did not disturb the migration: it still copies; cancelled, the VM stays on A alone.
  const now = (await api.request<TaskDto>('GET', `/api/v1/tasks/${started.json.id}`)).json;
  assert.equal(now.status, 'running', now.error ?? '');
  const cancel = await api.request<TaskDto>('POST', `/api/v1/tasks/${started.json.id}/cancel`);
  assert.equal(cancel.status, 202, cancel.text);
  const ended = await cluster.waitTask(started.json.id, 300_000);
  assert.equal(ended.status, 'failed');
  assert.match(ended.error ?? '', /cancelled: qxc-probe keeps running on/);
  await oneCopyOn(cluster, a, b, 'qxc-probe');
});
