// run(): a cancelled command is killed (SIGKILL: a copy may ignore SIGTERM, or sleep in an NFS call
// only a fatal signal wakes) and the promise rejects only once it has exited, so that a caller that
// then removes its files never races it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecError } from './run.js';
import { run } from './run.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a cancel kills the command, even one that ignores SIGTERM, and rejects once it has exited', async () => {
  const abort = new AbortController();
  let pid = 0;
  const running = run('bash', ['-c', 'trap "" TERM; echo $$; exec sleep 30'], {
    signal: abort.signal,
    onOutput: (chunk) => {
      pid ||= Number(chunk.toString().trim());
      abort.abort(new Error('cancelled by the test'));
    },
  });
  await assert.rejects(running, (err: Error) => err.name === 'AbortError');
  assert.ok(pid > 0);
  assert.equal(alive(pid), false, 'the command is gone when the promise rejects');
});

test('a command that fails or cannot start rejects with why', async () => {
  await assert.rejects(run('bash', ['-c', 'echo nope >&2; exit 3']), (err: ExecError) => {
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /nope/);
    return true;
  });
  await assert.rejects(run('/nonexistent/qx-command', []), /ENOENT/);
  assert.equal((await run('echo', ['ok'])).stdout, 'ok\n');
});
