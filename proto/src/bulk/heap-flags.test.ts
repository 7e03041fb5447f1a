import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TRANSFER_HEAP_FLAGS } from './heap-flags.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

// The image starts the agent and the server from these two lines; tests and benchmarks spawn
// them with TRANSFER_HEAP_FLAGS. A flag missing from one of them would measure one process and
// ship another.
const launchers = [
  { file: 'overlay/etc/systemd/system/quantix-agent.service', line: /^ExecStart=(.*)$/m },
  { file: 'appliance/quantix-server-start', line: /^exec (\/usr\/local\/bin\/node .*)$/m },
];

test('the image starts the agent and the server with the transfer heap flags, before the entry point', () => {
  for (const { file, line } of launchers) {
    const command = line.exec(readFileSync(repo + file, 'utf8'))?.[1];
    assert.ok(command, `${file}: no node command line found`);
    const words = command.split(/\s+/);
    const entry = words.findIndex((w) => w.endsWith('/main.js'));
    assert.ok(entry > 0, `${file}: no entry point in "${command}"`);
    for (const flag of TRANSFER_HEAP_FLAGS) {
      const at = words.indexOf(flag);
      assert.ok(at > 0 && at < entry, `${file}: "${command}" lacks ${flag} before the entry point`);
    }
  }
});
