// Runs a shell command in the test guest over its serial console (test/guest/init.sh runs a line
// `qx-run CMD`) and returns what it printed. The tty's echo of the command line is no reliable start:
// a CI-like run got 'ystem/cpu/present\n0' for `cat /sys/devices/system/cpu/present`, a line end in
// the middle of the echo (the kernel writes to the same console). So the command first prints a
// marker that its own echo cannot contain (printf puts it together), and kernel lines are dropped.
import { testGuest } from '../guest/fixture.js';
import type { ConsoleClient } from './console-client.js';

const BEGIN = 'qx-out-begin';
/** A kernel message as the console shows it: `[   12.345678] …`. */
const KERNEL_LINE = /^\[\s*\d+\.\d+\]/;

export async function runInGuest(serial: ConsoleClient, cmd: string, timeoutMs = 60_000): Promise<string> {
  const from = serial.output.length;
  serial.send(`${testGuest.runPrefix}printf 'qx-out-%s\\n' begin; ${cmd}\n`);
  await serial.waitFor(/qx-run-done: \d+/, timeoutMs, from);
  return commandOutput(serial.output.slice(from), cmd);
}

/** What a command printed, from the console output since it was sent (runInGuest). */
export function commandOutput(out: string, cmd: string): string {
  const end = out.indexOf(testGuest.runDone);
  const begin = out.lastIndexOf(BEGIN, end);
  if (end < 0 || begin < 0)
    throw new Error(`no output of \`${cmd}\` between its markers: ${JSON.stringify(out.slice(-400))}`);
  return out
    .slice(out.indexOf('\n', begin) + 1, end)
    .replace(/\r/g, '')
    .split('\n')
    .filter((line) => !KERNEL_LINE.test(line))
    .join('\n')
    .trim();
}
