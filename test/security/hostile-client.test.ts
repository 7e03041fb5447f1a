// The hostile-client suite (issue #19): every attack found from outside, tried through the public
// REST API (and the agent's gRPC port) against a real server, agent, libvirt and loop devices.
// Each module in ./attacks/ registers its attacks with `attack()`; they run one after another.
import { after } from 'node:test';
import { readdirSync } from 'node:fs';
import { tally } from './attack.js';

const attacks = new URL('./attacks/', import.meta.url);
for (const file of readdirSync(attacks)
  .filter((f) => f.endsWith('.ts'))
  .sort()) {
  await import(new URL(file, attacks).href);
}

after(() => {
  console.log(tally());
});
