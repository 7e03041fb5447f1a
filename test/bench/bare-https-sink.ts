// The upload benchmark's design ceiling (#26), in a process of its own: a bare Node.js HTTPS server
// that writes each PUT body straight into a file (gathered writes, then fsync), as the vDC server
// would if it wrote the pool's file itself, with no agent hop and no API around it. Sends its port to
// the parent over IPC; the body goes to QX_SINK_FILE, removed before each answer.
import { writev } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const file = process.env.QX_SINK_FILE!;
const server = createServer({ key: process.env.QX_SINK_KEY, cert: process.env.QX_SINK_CERT }, (req, res) => {
  void (async () => {
    const fh = await open(file, 'w', 0o600);
    let batch: Buffer[] = [];
    let batched = 0;
    let at = 0;
    const flush = () => {
      const buffers = batch;
      const length = batched;
      batch = [];
      batched = 0;
      const position = at;
      at += length;
      return new Promise<void>((resolve, reject) =>
        writev(fh.fd, buffers, position, (err) => (err ? reject(err) : resolve())),
      );
    };
    for await (const chunk of req) {
      batch.push(chunk as Buffer);
      batched += (chunk as Buffer).length;
      if (batched >= 4 * 2 ** 20) await flush();
    }
    await flush();
    await fh.sync();
    await fh.close();
    await unlink(file);
    res.end(String(at));
  })().catch((err: unknown) => res.writeHead(500).end(String(err)));
});
server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
