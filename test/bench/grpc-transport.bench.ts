// The transport ceiling under the OVA and upload figures: the same 512 MiB streamed between two
// Node processes over bare grpc-js with TLS (no protobuf, no OVA or disk work: the receiver only
// counts), vs `cat` of the file to disk, same run. If this alone is slower than the OVA floor
// (cat + qemu-img convert), no pipeline over gRPC in Node meets a ratio near 1 on this machine.
// A plain TLS socket between the same two processes, same file, shows what HTTP/2 and grpc-js
// add on top of the encryption: the most a separate bulk-data channel could win. The same grpc-js
// server also listens on a Unix socket without TLS, as the local agent does for its server (#26).
import { execFileSync, fork } from 'node:child_process';
import { createReadStream, openSync, closeSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { once } from 'node:events';
import {
  Server,
  ServerCredentials,
  credentials,
  makeGenericClientConstructor,
  type Client,
  type ClientWritableStream,
  type ServerReadableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { createCa, issueCertificate, type KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { widenReceiveWindow } from '../../agent/src/grpc/flow-control.js';

const MiB = 2 ** 20;
const SIZE = 512 * MiB;
const CHUNK = 256 * 1024;
const identity = (b: Buffer) => b;
const method = {
  path: '/bench.Transport/Push',
  requestStream: true,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
} as const;

/**
 * Child, second listener: a plain TLS socket that counts what it receives and answers the count
 * when the sender half-closes. What the same bytes cost without HTTP/2 and gRPC on top.
 */
async function tlsReceiver(cert: KeyAndCert, plainSocket: string): Promise<number> {
  const count = (socket: Socket) => {
    let n = 0;
    socket.on('data', (b: Buffer) => (n += b.length));
    socket.on('end', () => socket.end(String(n)));
    socket.on('error', () => socket.destroy());
  };
  const server = createTlsServer({ key: cert.keyPem, cert: cert.certPem }, count);
  // The same counting on a plain Unix socket: what the bytes cost with neither TLS nor HTTP/2.
  createNetServer({ allowHalfOpen: true }, count).listen(plainSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Child: a TLS gRPC server with the agent's receive window that counts what it receives. */
async function receiver(cert: KeyAndCert, socket: string): Promise<void> {
  const server = new Server({ 'grpc.max_receive_message_length': 8 * MiB });
  server.addService(
    { push: method },
    {
      push: (call: ServerReadableStream<Buffer, Buffer>, done: sendUnaryData<Buffer>) => {
        let n = 0;
        call.on('data', (b: Buffer) => (n += b.length));
        call.on('end', () => done(null, Buffer.from(String(n))));
      },
    },
  );
  const creds = ServerCredentials.createSsl(
    null,
    [{ private_key: Buffer.from(cert.keyPem), cert_chain: Buffer.from(cert.certPem) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))),
  );
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  widenReceiveWindow(server);
  process.send!({ port, tlsPort: await tlsReceiver(cert, `${socket}.plain`) });
}

async function sendTls(port: number | string, ca: string, file: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const socket =
    typeof port === 'string' ? netConnect(port) : tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  await once(socket, typeof port === 'string' ? 'connect' : 'secureConnect');
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString()));
  const ended = once(socket, 'end');
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    if (!socket.write(chunk as Buffer)) await once(socket, 'drain');
  }
  socket.end();
  await ended;
  if (Number(reply) !== SIZE) throw new Error(`TLS receiver counted ${reply} of ${SIZE} bytes`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function send(
  client: Client & { push: (cb: sendUnaryData<Buffer>) => ClientWritableStream<Buffer> },
  file: string,
): Promise<number> {
  const t0 = process.hrtime.bigint();
  const reply = new Promise<Buffer>((resolve, reject) => {
    const call = client.push((err, res) => (err ? reject(err) : resolve(res!)));
    void (async () => {
      for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
        if (!call.write(chunk as Buffer)) await once(call, 'drain');
      }
      call.end();
    })();
  });
  const received = Number((await reply).toString());
  if (received !== SIZE) throw new Error(`receiver counted ${received} of ${SIZE} bytes`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** CPU seconds of this process and the receiver child so far (stable where wall time is not: a busy machine). */
function cpuSeconds(child: number): number {
  const f = readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = process.cpuUsage();
  return (Number(f[11]) + Number(f[12])) / 100 + (own.user + own.system) / 1e6;
}

/** Runs `fn`, adding its CPU seconds (sender + receiver) to `cpu`. */
async function measured(child: number, cpu: number[], fn: () => Promise<number>): Promise<number> {
  const c0 = cpuSeconds(child);
  const t = await fn();
  cpu.push(cpuSeconds(child) - c0);
  return t;
}

async function main(): Promise<void> {
  const dir = join(fileURLToPath(new URL('../..', import.meta.url)), 'test/output/bench-transport');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'random.bin');
  const fd = openSync(file, 'w');
  for (let i = 0; i < SIZE / MiB; i++) writeSync(fd, randomBytes(MiB));
  closeSync(fd);
  const ca = await createCa('transport bench', 1);
  const cert = await issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    days: 1,
    usages: ['server'],
  });
  const child = fork(fileURLToPath(import.meta.url), ['receiver'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const socket = join(dir, 'grpc.sock');
    child.send({ cert, socket });
    const [{ port, tlsPort }] = (await once(child, 'message')) as [{ port: number; tlsPort: number }];
    const Push = makeGenericClientConstructor({ push: method }, 'bench.Transport');
    const client = new Push(`localhost:${port}`, credentials.createSsl(Buffer.from(ca.certPem)), {
      'grpc.max_send_message_length': 8 * MiB,
    }) as unknown as Client & { push: (cb: sendUnaryData<Buffer>) => ClientWritableStream<Buffer> };
    const local = new Push(`unix:${socket}`, credentials.createInsecure(), {
      'grpc.max_send_message_length': 8 * MiB,
    }) as unknown as Client & { push: (cb: sendUnaryData<Buffer>) => ClientWritableStream<Buffer> };
    const unixs: number[] = [];
    const cpuTls: number[] = [];
    const cpuUnix: number[] = [];
    const plains: number[] = [];
    const cpuPlain: number[] = [];
    const cats: number[] = [];
    const grpcs: number[] = [];
    const tlss: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t0 = process.hrtime.bigint();
      const out = openSync(join(dir, 'copy.bin'), 'w');
      execFileSync('cat', [file], { stdio: ['ignore', out, 'inherit'] });
      closeSync(out);
      cats.push(Number(process.hrtime.bigint() - t0) / 1e9);
      await rm(join(dir, 'copy.bin'));
      grpcs.push(await measured(child.pid!, cpuTls, () => send(client, file)));
      tlss.push(await sendTls(tlsPort, ca.certPem, file));
      unixs.push(await measured(child.pid!, cpuUnix, () => send(local, file)));
      plains.push(await measured(child.pid!, cpuPlain, () => sendTls(`${socket}.plain`, '', file)));
    }
    client.close();
    local.close();
    const u = Math.min(...unixs);
    const c = Math.min(...cats);
    const g = Math.min(...grpcs);
    const t = Math.min(...tlss);
    const rate = (s: number) => `${(SIZE / 1e6 / s).toFixed(0)} MB/s`;
    console.log(`cat of 512 MiB to disk:                 ${c.toFixed(2)} s (${rate(c)})`);
    console.log(
      `bare grpc-js over TLS, process to process: ${g.toFixed(2)} s (${rate(g)}), ${CHUNK / 1024} KiB messages, receiver only counts`,
    );
    console.log(`plain TLS socket, same processes and file:  ${t.toFixed(2)} s (${rate(t)}), receiver only counts`);
    console.log(`bare grpc-js over a Unix socket, no TLS:    ${u.toFixed(2)} s (${rate(u)}), the local agent's path`);
    const p = Math.min(...plains);
    console.log(`plain Unix socket, no TLS, no HTTP/2:       ${p.toFixed(2)} s (${rate(p)}), receiver only counts`);
    const ct = Math.min(...cpuTls);
    const cu = Math.min(...cpuUnix);
    console.log(
      `ratio grpc-js Unix socket / grpc-js TLS: ${(u / g).toFixed(2)}x the time, ${(cu / ct).toFixed(2)}x the CPU (${cu.toFixed(2)} vs ${ct.toFixed(2)} CPU s, sender + receiver)`,
    );
    const cp = Math.min(...cpuPlain);
    console.log(
      `ratio plain Unix socket / grpc-js Unix socket: ${(p / u).toFixed(2)}x the time, ${(cp / cu).toFixed(2)}x the CPU (${cp.toFixed(2)} CPU s)`,
    );
    console.log(
      `ratio transport alone / cat: ${(g / c).toFixed(2)}x (the OVA target is <= 1.15x of cat + qemu-img convert)`,
    );
    console.log(
      `ratio grpc-js / plain TLS: ${(g / t).toFixed(2)}x the time (HTTP/2 framing, grpc-js and their garbage on top of the same TLS)`,
    );
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'receiver') {
  const [{ cert, socket }] = (await once(process, 'message')) as [{ cert: KeyAndCert; socket: string }];
  await receiver(cert, socket);
} else {
  await main();
}
