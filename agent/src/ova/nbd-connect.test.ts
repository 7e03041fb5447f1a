// Connecting to qemu-nbd as it starts: its socket file exists from bind(), a moment before it
// listens. A server that binds, waits, then listens (a minimal fixed-newstyle NBD greeting, in
// Python: Node cannot bind without listening) is reached once it listens, not refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectWhenReady } from './qcow2-target.js';

const SERVER = `
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
time.sleep(0.5)  # bound, not listening: a connect now is refused
s.listen(1)
c, _ = s.accept()
c.sendall(b'NBDMAGIC' + b'IHAVEOPT' + struct.pack('>H', 3))
c.recv(4)   # client flags
c.recv(16)  # IHAVEOPT, NBD_OPT_EXPORT_NAME, length 0
c.sendall(struct.pack('>QH', 1 << 20, 1))
c.recv(1)
`;

test('an NBD server that has bound its socket but does not listen yet is waited for', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-nbd-'));
  const socket = join(dir, 'nbd.sock');
  const server = spawn('python3', ['-c', SERVER, socket], { stdio: 'inherit' });
  let exited: { err?: unknown } | undefined;
  server.on('exit', () => (exited = {}));
  t.after(async () => {
    server.kill();
    await rm(dir, { recursive: true, force: true });
  });
  // The socket file appears before the server listens: the window the import used to fail in.
  for (let i = 0; !(await stat(socket).catch(() => undefined)); i++) {
    assert.ok(i < 500, 'the server bound its socket');
    await new Promise((r) => setTimeout(r, 10));
  }
  const nbd = await connectWhenReady(socket, () => exited);
  assert.equal(nbd.size, 1 << 20);
  nbd.destroy();
});
