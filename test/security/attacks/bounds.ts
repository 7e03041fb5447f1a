// Slow and greedy clients (issue #19 "Trust"): stalled headers, unfinished request bodies and
// silent TLS handshakes are closed; one source address cannot hold more than its share of
// connections; an SSE client that never reads is cut off once its buffer passes the bound; a host
// shell flooding a browser that does not read pauses the agent's stream with the backlog bounded;
// a stalled upload or download is closed after the idle timeout while a slow but moving upload is
// not cut by the request timeout. Real server and agent.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as netConnect, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import WebSocket from 'ws';
import { attack } from '../attack.js';
import type { UploadDto } from '../../../server/src/dto/uploads.js';
import type { HostDto } from '../../../server/src/dto/hosts.js';
import type { TaskDto } from '../../../server/src/dto/tasks.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { freePort, spawnAgent, type Child } from '../../../server/src/test-support/spawn.js';
import { eventually, srvName, virsh } from '../../../server/src/test-support/guest-pool.js';

const MiB = 1024 * 1024;
/** Short limits so the attacks finish quickly; each wait below is many times longer. */
const SHORT = {
  QX_SERVER_HEADERS_TIMEOUT: '1',
  QX_SERVER_REQUEST_TIMEOUT: '1',
  QX_SERVER_IDLE_TIMEOUT: '3',
  QX_SERVER_TLS_HANDSHAKE_TIMEOUT: '1',
};
/** How long the test waits for the server to act on a limit of at most 3 s. */
const DEADLINE_MS = 30_000;

/** Resolves when `socket` closes; rejects after DEADLINE_MS naming `what`. Reads (and drops)
 * what the server sends, so a close after a reply (408) is seen too. */
function closed(socket: Socket, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    socket.resume();
    const timer = setTimeout(() => reject(new Error(`${what}: still open after ${DEADLINE_MS / 1000} s`)), DEADLINE_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A TLS connection to the server from `localAddress` (any 127.x address works on Linux). */
function tlsFrom(port: number, localAddress: string): TLSSocket {
  return tlsConnect({ socket: netConnect({ host: '127.0.0.1', port, localAddress }), rejectUnauthorized: false });
}

function tlsOpen(port: number, localAddress = '127.0.0.1'): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsFrom(port, localAddress);
    s.once('secureConnect', () => resolve(s));
    s.on('error', reject);
  });
}

describe('bounds', () => {
  let s: TestServer;
  let capped: TestServer;
  let agent: Child | undefined;
  let work: string;
  let storage: { hostId: string; pool: string } | undefined;

  /** A dir pool on the local host (made once, for the upload and download attacks). */
  async function volumePool(): Promise<{ hostId: string; pool: string }> {
    if (storage) return storage;
    const api = s.admin;
    const host = await eventually('the local host online', async () =>
      (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
    );
    const pool = srvName('bpool');
    const poolDir = join(work, 'pool');
    await mkdir(poolDir, { mode: 0o755 });
    const pt = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
      body: { name: pool, kind: 'dir', path: poolDir },
    });
    assert.equal(pt.status, 202, pt.text);
    storage = { hostId: host.id, pool };
    const created = await eventually('the pool task', async () => {
      const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${pt.json.id}`)).json;
      return t.status !== 'running' && t;
    });
    assert.equal(created.status, 'succeeded', created.error ?? '');
    return storage;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'qxt-bounds-'));
    await chmod(work, 0o755);
    const agentDir = join(work, 'agent');
    await mkdir(agentDir);
    const port = await freePort();
    agent = await spawnAgent(agentDir, port);
    s = await startTestServer({
      ...SHORT,
      // The appliance's way to its own agent: uploads then take the bulk socket (bulk-upload.ts).
      QX_LOCAL_AGENT_ADDRESS: `unix:${join(agentDir, 'local', 'agent.sock')}`,
      QX_LOCAL_AGENT_DATA_DIR: agentDir,
    });
    capped = await startTestServer({ QX_SERVER_MAX_CONNECTIONS_PER_ADDRESS: '4' });
  });
  after(async () => {
    if (storage) {
      const d = await s.admin
        .request('DELETE', `/api/v1/hosts/${storage.hostId}/pools/${storage.pool}`)
        .catch(() => undefined);
      if (d?.status !== 204) {
        await virsh(['pool-destroy', storage.pool]).catch(() => undefined);
        await virsh(['pool-undefine', storage.pool]).catch(() => undefined);
      }
    }
    await s?.stop();
    await capped?.stop();
    await agent?.kill();
    await rm(work, { recursive: true, force: true });
  });

  attack('50 TLS connections send part of a request header and stall', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => tlsOpen(s.running.port)));
    for (const sock of sockets) {
      sock.on('error', () => undefined);
      sock.write('GET /api/v1/health HTTP/1.1\r\nHost: quantix.test\r\nX-Slow: ');
    }
    const results = await Promise.allSettled(sockets.map((sock, i) => closed(sock, `connection ${i}`)));
    const open = results.filter((r) => r.status === 'rejected').length;
    for (const sock of sockets) sock.destroy();
    assert.equal(open, 0, `${open} of 50 stalled connections were still open`);
  });

  attack('a JSON request body that never finishes arriving', async () => {
    const sock = await tlsOpen(s.running.port);
    let reply = '';
    sock.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.write(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: quantix.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user',
    );
    await closed(sock, 'the connection with the unfinished body');
    assert.match(reply, /^HTTP\/1\.1 408 /);
  });

  attack('20 TCP connections never send a TLS ClientHello', async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const sock = netConnect({ host: '127.0.0.1', port: s.running.port }, () => resolve(sock));
            sock.on('error', reject);
          }),
      ),
    );
    for (const sock of sockets) sock.on('error', () => undefined);
    const results = await Promise.allSettled(sockets.map((sock, i) => closed(sock, `connection ${i}`)));
    const open = results.filter((r) => r.status === 'rejected').length;
    for (const sock of sockets) sock.destroy();
    assert.equal(open, 0, `${open} of 20 silent connections were still open`);
  });

  attack('one source address opens more connections than its cap', async () => {
    const port = capped.running.port;
    const held = await Promise.all(Array.from({ length: 4 }, () => tlsOpen(port, '127.0.0.2')));
    try {
      const extra = tlsFrom(port, '127.0.0.2');
      let secured = false;
      extra.on('secureConnect', () => (secured = true));
      extra.on('error', () => undefined);
      await closed(extra, 'the connection over the cap');
      assert.equal(secured, false, 'the connection over the cap completed its TLS handshake');
      const health = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/api/v1/health',
            localAddress: '127.0.0.1',
            ca: capped.services.certificate.current.certPem,
            servername: 'localhost',
            agent: false,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(health, 200, 'another address is still served');
      const metrics = await capped.admin.request('GET', '/metrics');
      assert.match(metrics.text, /^quantix_connections_refused_total\{reason="per-address-cap"\} [1-9]/m);
    } finally {
      for (const h of held) h.destroy();
    }
  });

  attack('an SSE client never reads while events are published', async () => {
    const hub = s.services.events;
    const before = hub.listenerCount('event');
    const req = request(new URL('/api/v1/events', s.base), {
      ca: s.services.certificate.current.certPem,
      headers: { Cookie: s.admin.cookie!, Accept: 'text/event-stream' },
      agent: false,
    });
    req.on('error', () => undefined);
    const res = await new Promise<IncomingMessage>((resolve) => req.on('response', resolve).end());
    assert.equal(res.statusCode, 200);
    res.socket.pause(); // reads nothing from now on
    await eventually('the SSE subscription', async () => hub.listenerCount('event') > before);
    // 64 KiB events until the server drops the subscriber; a server that buffers without bound
    // would still hold it after 256 MiB.
    const payload = { blob: 'x'.repeat(64 * 1024) };
    let published = 0;
    while (hub.listenerCount('event') > before && published < 256 * MiB) {
      hub.publish('task', payload);
      published += 64 * 1024;
      await nextTurn();
    }
    req.destroy();
    assert.equal(
      hub.listenerCount('event'),
      before,
      `the silent SSE client was still subscribed after ${published / MiB} MiB of events`,
    );
    // The bound (1 MiB) plus what the kernel's socket buffers hold on loopback.
    assert.ok(published < 64 * MiB, `cut off only after ${published / MiB} MiB`);
  });

  attack('a host shell floods a browser that never reads', async () => {
    const api = s.admin;
    const host = await eventually('the local host online', async () =>
      (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
    );
    const ticket = await api.request<{ url: string }>('POST', `/api/v1/hosts/${host.id}/shell-ticket`);
    assert.equal(ticket.status, 201, ticket.text);
    const ws = new WebSocket(`wss://127.0.0.1:${s.running.port}${ticket.json.url}`, {
      ca: s.services.certificate.current.certPem,
      headers: { Cookie: api.cookie! },
      origin: s.base,
    });
    ws.on('error', () => undefined);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('unexpected-response', reject));
    try {
      const firstOutput = new Promise((resolve) => ws.once('message', resolve));
      ws.send(Buffer.from('yes qxt-bounds-flood\r'), { binary: true });
      await firstOutput;
      ws.pause(); // reads nothing from now on
      const proxy = s.running.console;
      const held = await eventually(
        'the agent stream paused for the slow browser',
        async () => proxy.backlog().find((b) => b.agentPaused),
        DEADLINE_MS,
      );
      assert.ok(
        held.bufferedBytes <= s.services.config.bounds.wsBufferBytes,
        `${held.bufferedBytes} bytes held for the browser`,
      );
    } finally {
      ws.resume();
      ws.send(Buffer.from('\x03'), { binary: true });
      ws.terminate();
    }
  });

  attack('an upload stalls mid-body; a slow one keeps moving', async () => {
    const api = s.admin;
    const { hostId, pool } = await volumePool();
    {
      const url = async (name: string) => {
        const opened = await api.request<UploadDto>('POST', `/api/v1/hosts/${hostId}/pools/${pool}/uploads`, {
          body: { name, format: 'raw', sizeBytes: MiB },
        });
        assert.equal(opened.status, 202, opened.text);
        return new URL(opened.json.uploadUrl, s.base);
      };
      // Stalled: 64 KiB of a declared 1 MiB, then nothing.
      const stalled = request(await url('stalled.img'), {
        method: 'PUT',
        ca: s.services.certificate.current.certPem,
        headers: { Cookie: api.cookie!, 'X-CSRF-Token': api.csrf!, 'Content-Length': String(MiB) },
        agent: false,
      });
      stalled.on('error', () => undefined);
      stalled.on('response', (r) => r.resume());
      stalled.write(Buffer.alloc(64 * 1024));
      const sock = await new Promise<Socket>((resolve) => stalled.once('socket', resolve));
      await closed(sock, 'the stalled upload');

      // Trickling: 1 MiB in 32 KiB pieces every 100 ms (3.2 s: past the 1 s request timeout, and
      // no gap near the 3 s idle timeout).
      const piece = Buffer.alloc(32 * 1024, 1);
      const trickle = Readable.from(
        (async function* () {
          for (let i = 0; i < MiB / piece.length; i++) {
            yield piece;
            await new Promise((r) => setTimeout(r, 100));
          }
        })(),
      );
      const r = await api.request('PUT', (await url('trickled.img')).pathname, {
        stream: trickle,
        headers: { 'Content-Length': String(MiB) },
      });
      assert.equal(r.status, 200, `a slow but moving upload: ${r.status} ${r.text}`);
    }
  });

  attack('a download whose client stops reading', async () => {
    const { hostId, pool } = await volumePool();
    const created = await s.admin.request('POST', `/api/v1/hosts/${hostId}/pools/${pool}/volumes`, {
      body: { name: 'big.img', format: 'raw', capacityBytes: 256 * MiB },
    });
    assert.equal(created.status, 201, created.text);
    // From an address of its own, so the server's count of its connections is this download's.
    const from = '127.0.0.5';
    const req = request(new URL(`/api/v1/hosts/${hostId}/pools/${pool}/volumes/big.img/content`, s.base), {
      ca: s.services.certificate.current.certPem,
      headers: { Cookie: s.admin.cookie! },
      localAddress: from,
      agent: false,
    });
    req.on('error', () => undefined);
    const res = await new Promise<IncomingMessage>((resolve) => req.on('response', resolve).end());
    assert.equal(res.statusCode, 200);
    await new Promise((resolve) => res.once('data', resolve));
    res.socket.pause(); // reads nothing from now on
    try {
      await eventually(
        'the server to close the stalled download',
        async () => s.running.openConnections(from) === 0,
        DEADLINE_MS,
      );
    } finally {
      req.destroy();
    }
  });
});
