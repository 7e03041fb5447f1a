// A viewer attaching to a console gets the backlog, then the live output, with nothing lost or
// repeated where they meet: the backlog (a VM's serial log, written by virtlogd) lags the live
// output, as a process here that prints numbered lines and appends them to its log 40 ms later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConsoleTail } from './console-log.js';
import { PtySession, liveEndIn, liveStartIn } from './pty-session.js';
// The pty turns \n into \r\n: the log gets the bytes a viewer sees, as a serial log does.
const PRINTER = `
const { appendFileSync } = require('node:fs');
let i = 0;
setInterval(() => {
  const line = 'SEQ ' + i++;
  process.stdout.write(line + '\\n');
  setTimeout(() => appendFileSync(process.argv[1], line + '\\r\\n'), 40);
}, 2);
`;

test('attaching while output flows: the backlog and the live output join without a gap or a repeat', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-pty-'));
  const log = join(dir, 'serial.log');
  const session = new PtySession(process.execPath, ['-e', PRINTER, log], { backlog: () => readConsoleTail(log) });
  t.after(async () => {
    await session.close('test over');
    await rm(dir, { recursive: true, force: true });
  });
  const keeper = { data: () => undefined, closed: () => undefined };
  session.attach(keeper); // the process keeps running between the viewers below
  await new Promise((r) => setTimeout(r, 300));
  for (let k = 0; k < 15; k++) {
    let text = '';
    const viewer = { data: (c: Buffer) => (text += c.toString()), closed: () => undefined };
    session.attach(viewer);
    await new Promise((r) => setTimeout(r, 400 + k * 7));
    session.detach(viewer);
    const seq = [...text.matchAll(/SEQ (\d+)\r?\n/g)].map((m) => Number(m[1]));
    assert.ok(seq.length > 20, `viewer ${k} got ${seq.length} lines`);
    for (let i = 1; i < seq.length; i++) {
      assert.equal(seq[i], seq[i - 1]! + 1, `viewer ${k}: line ${seq[i - 1]} is followed by ${seq[i]}`);
    }
  }
});

test('where the live output starts and ends in the backlog', () => {
  const b = (s: string) => Buffer.from(s);
  assert.equal(liveEndIn(b('one\ntwo\nthree\n'), b('two\n')), 8, 'just past its end');
  assert.equal(liveEndIn(b('one\ntwo\n'), b('two\nthree\n')), -1, 'not written there yet');
  assert.equal(liveStartIn(b('one\ntwo\nthree\n'), b('two\nthree\nfour\n')), -1, 'too short an overlap to be sure');
  assert.equal(liveStartIn(b('one\ntwo\n'), b('three\n')), -1, 'not there yet');
  assert.equal(liveStartIn(b('x\nx\nx\n'), b('x\n')), 4, 'the last place that agrees');
  const line = (i: number) => `line number ${i} of the output\n`;
  const lines = (from: number, to: number) => b(Array.from({ length: to - from }, (_, i) => line(from + i)).join(''));
  assert.equal(liveStartIn(lines(0, 40), lines(20, 60)), lines(0, 20).length, 'the backlog holds its start');
  assert.equal(
    liveStartIn(Buffer.concat([lines(0, 10), lines(10, 12)]), lines(10, 30)),
    lines(0, 10).length,
    'the backlog ends inside the live output',
  );
  assert.equal(liveStartIn(b('one\ntwo\n'), b('two\nthree\n')), -1, 'too short an end to be sure');
});
