import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AGENT_HEAP_FLAGS } from './heap-flags.js';

const unit = fileURLToPath(new URL('../../../overlay/etc/systemd/system/quantix-agent.service', import.meta.url));

// Tests and benchmarks spawn the agent with AGENT_HEAP_FLAGS; the image starts it from this
// line. A flag missing here would measure one agent and ship another.
test('the image starts the agent with its heap flags, before the entry point', () => {
  const command = /^ExecStart=(.*)$/m.exec(readFileSync(unit, 'utf8'))?.[1];
  assert.ok(command, 'quantix-agent.service has no ExecStart');
  const words = command.split(/\s+/);
  const entry = words.indexOf('/opt/quantix/agent/dist/main.js');
  assert.ok(entry > 0, `no agent entry point in "${command}"`);
  for (const flag of AGENT_HEAP_FLAGS) {
    const at = words.indexOf(flag);
    assert.ok(at > 0 && at < entry, `"${command}" lacks ${flag} before the entry point`);
  }
});
