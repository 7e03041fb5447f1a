// The transport ceiling under the OVA and upload figures: the same 512 MiB streamed between two
// Node processes over bare grpc-js with TLS (no protobuf, no OVA or disk work: the receiver only
// counts), vs `cat` of the file to disk, same run. If this alone is slower than the OVA floor
// (cat + qemu-img convert), no pipeline over gRPC in Node meets a ratio near 1 on this machine.
// A plain TLS socket between the same two processes, same file, shows what HTTP/2 and grpc-js
// add on top of the encryption: the most a separate bulk-data channel could win.
import { execFileSync, fork } from 'node:child_process';
import { createReadStream, openSync, closeSync, writeSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
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
async function tlsReceiver(cert: KeyAndCert): Promise<number> {
  const server = createTlsServer({ key: cert.keyPem, cert: cert.certPem }, (socket) => {
    let n = 0;
    socket.on('data', (b: Buffer) => (n += b.length));
    socket.on('end', () => socket.end(String(n)));
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Child: a TLS gRPC server with the agent's receive window that counts what it receives. */
async function receiver(cert: KeyAndCert): Promise<void> {
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
  widenReceiveWindow(server);
  process.send!({ port, tlsPort: await tlsReceiver(cert) });
}

async function sendTls(port: number, ca: string, file: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  await once(socket, 'secureConnect');
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
    child.send(cert);
    const [{ port, tlsPort }] = (await once(child, 'message')) as [{ port: number; tlsPort: number }];
    const Push = makeGenericClientConstructor({ push: method }, 'bench.Transport');
    const client = new Push(`localhost:${port}`, credentials.createSsl(Buffer.from(ca.certPem)), {
      'grpc.max_send_message_length': 8 * MiB,
    }) as unknown as Client & { push: (cb: sendUnaryData<Buffer>) => ClientWritableStream<Buffer> };
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
      grpcs.push(await send(client, file));
      tlss.push(await sendTls(tlsPort, ca.certPem, file));
    }
    client.close();
    const c = Math.min(...cats);
    const g = Math.min(...grpcs);
    const t = Math.min(...tlss);
    const rate = (s: number) => `${(SIZE / 1e6 / s).toFixed(0)} MB/s`;
    console.log(`cat of 512 MiB to disk:                 ${c.toFixed(2)} s (${rate(c)})`);
    console.log(
      `bare grpc-js over TLS, process to process: ${g.toFixed(2)} s (${rate(g)}), ${CHUNK / 1024} KiB messages, receiver only counts`,
    );
    console.log(`plain TLS socket, same processes and file:  ${t.toFixed(2)} s (${rate(t)}), receiver only counts`);
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
  const [cert] = (await once(process, 'message')) as [KeyAndCert];
  await receiver(cert);
} else {
  await main();
}
