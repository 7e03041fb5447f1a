// The bulk path of a live migration: a raw mutual-TLS byte pipe between the two agents instead of
// gRPC Tunnel calls (no HTTP/2 framing, no protobuf per chunk, no window updates: measured several
// times slower under TCG load). The destination opens one port per migration; a connection must
// present a vDC-issued agent certificate naming the migration's source host and then send the
// ticket and its channel in one header line before any byte reaches libvirt or QEMU.
import { X509Certificate, timingSafeEqual } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createServer, type Server, type TLSSocket } from 'node:tls';
import { fingerprintOf, isIssuedBy } from '@quantix/proto/tls/certificates.js';
import { agentHostIdOf } from '../identity/agent-certificate.js';
import { log } from '../log.js';

const MAGIC = 'QXMIG1';
/** The header line is short (uuid, 43-char ticket, channel); anything longer is refused. */
const MAX_HEADER_BYTES = 256;
/** A connection must authenticate within this long. */
const HEADER_TIMEOUT_MS = 15_000;
const KEEPALIVE_MS = 10_000;
/**
 * The link's liveness: a cut link leaves TCP retransmitting for many minutes and libvirt's own
 * keepalive does not end the job, so a "heartbeat" connection carries a byte each way every few
 * seconds and either side drops every pipe of the migration when none arrived for a while (what
 * HTTP/2 pings did for the Tunnel calls).
 */
export const HEARTBEAT_CHANNEL = 'heartbeat';
const HEARTBEAT_EVERY_MS = 3_000;
const HEARTBEAT_DEAD_MS = 20_000;

export interface PipeAdmission {
  migrationId: string;
  ticket: string;
  sourceHostId: string;
  /** The local socket a channel reaches, or an Error message refusing it. */
  target(channel: string): string;
}

export interface PipeServerOptions {
  host: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  admission: PipeAdmission;
  onOpen?: () => void;
  onClose?: () => void;
}

/** Listens on an ephemeral port of `host`; `close()` stops it and ends every pipe it carries. */
export async function openPipeServer(opts: PipeServerOptions): Promise<{ port: number; close(): void }> {
  const ca = new X509Certificate(opts.caPem);
  const live = new Set<Socket>();
  const server: Server = createServer(
    {
      key: opts.keyPem,
      cert: opts.certPem,
      ca: opts.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: HEADER_TIMEOUT_MS,
    },
    (tls) => {
      live.add(tls);
      tls.setNoDelay(true);
      tls.setKeepAlive(true, KEEPALIVE_MS);
      tls.once('close', () => live.delete(tls));
      tls.on('error', () => tls.destroy());
      const peer = tls.getPeerX509Certificate();
      if (!peer || !isIssuedBy(peer, ca) || agentHostIdOf(peer) !== opts.admission.sourceHostId) {
        log.warn('migration pipe: refused a peer that is not the source agent', {
          migration: opts.admission.migrationId,
        });
        tls.destroy();
        return;
      }
      readHeader(tls)
        .then(({ channel, ticket, rest }) => {
          const given = Buffer.from(ticket);
          const expected = Buffer.from(opts.admission.ticket);
          if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('wrong ticket');
          if (channel === HEARTBEAT_CHANNEL) {
            heartbeat(tls, () => {
              for (const sock of live) sock.destroy();
            });
            return;
          }
          const local = netConnect(opts.admission.target(channel));
          live.add(local);
          local.once('close', () => live.delete(local));
          if (rest.length) local.write(rest);
          opts.onOpen?.();
          splice(tls, local, () => opts.onClose?.());
        })
        .catch((err: unknown) => {
          log.warn('migration pipe: refused', { migration: opts.admission.migrationId, why: String(err) });
          tls.destroy();
        });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close() {
      server.close();
      for (const s of live) s.destroy();
    },
  };
}

/** Reads `QXMIG1 <ticket> <channel>\n` (bounded, with a deadline); bytes after it are the payload's. */
function readHeader(tls: TLSSocket): Promise<{ ticket: string; channel: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('no header in time')), HEADER_TIMEOUT_MS);
    const onData = (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > MAX_HEADER_BYTES) done(new Error('header too long'));
        return;
      }
      if (nl > MAX_HEADER_BYTES) return done(new Error('header too long'));
      const [magic, ticket, channel, ...extra] = buf.subarray(0, nl).toString('utf8').split(' ');
      if (magic !== MAGIC || !ticket || !channel || extra.length) return done(new Error('malformed header'));
      tls.pause();
      done(undefined, { ticket, channel, rest: buf.subarray(nl + 1) });
    };
    const onEnd = () => done(new Error('closed before its header'));
    const done = (err?: Error, v?: { ticket: string; channel: string; rest: Buffer }) => {
      clearTimeout(timer);
      tls.off('data', onData);
      tls.off('end', onEnd);
      if (err) reject(err);
      else resolve(v!);
    };
    tls.on('data', onData);
    tls.once('end', onEnd);
  });
}

export interface PipeDial {
  host: string;
  port: number;
  /** The destination agent's certificate, pinned by fingerprint. */
  destCertPem: string;
  keyPem: string;
  certPem: string;
  ticket: string;
  channel: string;
}

/** Connects a local socket to the destination's pipe for one channel. */
export function dialPipe(local: Socket, d: PipeDial, onClose: () => void): Socket {
  const tls = tlsDial(d);
  splice(local, tls, onClose);
  return tls;
}

function tlsDial(d: PipeDial): TLSSocket {
  const fingerprint = fingerprintOf(d.destCertPem);
  const tls = tlsConnect({
    host: d.host,
    port: d.port,
    ca: d.destCertPem,
    key: d.keyPem,
    cert: d.certPem,
    checkServerIdentity: (_h, cert) =>
      cert.fingerprint256 === fingerprint ? undefined : new Error("the destination agent's certificate changed"),
  });
  tls.setNoDelay(true);
  tls.setKeepAlive(true, KEEPALIVE_MS);
  tls.write(`${MAGIC} ${d.ticket} ${d.channel}\n`);
  return tls;
}

/** The source's heartbeat connection to the destination's pipe port; `onDead` when the link died. */
export function dialHeartbeat(d: Omit<PipeDial, 'channel'>, onDead: () => void): Socket {
  const tls = tlsDial({ ...d, channel: HEARTBEAT_CHANNEL });
  heartbeat(tls, onDead);
  return tls;
}

/** A byte every few seconds; `onDead` once when nothing came back in time or the connection ended. */
function heartbeat(sock: Socket, onDead: () => void): void {
  let last = Date.now();
  let dead = false;
  const die = () => {
    clearInterval(timer);
    if (dead) return;
    dead = true;
    sock.destroy();
    onDead();
  };
  const timer = setInterval(() => {
    if (Date.now() - last > HEARTBEAT_DEAD_MS) return die();
    sock.write(Buffer.of(0));
  }, HEARTBEAT_EVERY_MS);
  sock.on('data', () => (last = Date.now()));
  sock.on('error', die);
  sock.on('close', die);
  sock.resume();
}

/**
 * Bytes both ways with backpressure (pipe). Each side's end half-closes the other (QEMU's stream
 * ends cleanly); an error or a full close of either destroys both: the peer sees the drop.
 */
function splice(a: Socket, b: Socket, onClose: () => void): void {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    a.destroy();
    b.destroy();
    onClose();
  };
  a.pipe(b);
  b.pipe(a);
  a.resume();
  b.resume();
  for (const s of [a, b]) {
    s.on('error', close);
    s.on('close', close);
  }
}
