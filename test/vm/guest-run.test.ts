// The test guest's command output as runInGuest reads it off the serial console, from console text
// shaped as CI saw it: a kernel message splitting the tty's echo of the command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandOutput } from './guest-run.js';

test('command output: found by its own start marker, whatever splits the echo; kernel lines dropped', () => {
  const cmd = 'cat /sys/devices/system/cpu/present';
  const echo = `qx-run printf 'qx-out-%s\\n' begin; cat /sys/devices/s\r\n[   41.061512] ACPI: CPU1 has been hot-added\r\nystem/cpu/present\r\n`;
  const out = `${echo}qx-out-begin\r\n0\r\n[   41.2] a late kernel line\r\nqx-run-done: 0\r\n`;
  assert.equal(commandOutput(out, cmd), '0');
  assert.equal(commandOutput(`qx-out-begin\r\nline 1\r\nline 2\r\nqx-run-done: 0\r\n`, cmd), 'line 1\nline 2');
  assert.throws(() => commandOutput(`${echo}0\r\nqx-run-done: 0\r\n`, cmd), /no output of `cat/);
});
