// Agents are graded against this build's version (the root package.json's, the one the agent
// reports): same minor current, one minor behind older, the rest unsupported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILD_VERSION } from '@quantix/proto/appliance/build-version.js';
import { loadServerConfig } from '../config.js';
import { agentVersionStatus } from './agent-version.js';

test("agent version: graded against the build's version", () => {
  assert.equal(loadServerConfig({ QX_SERVER_DATA_DIR: '/nonexistent' }, '').version, BUILD_VERSION);
  assert.equal(agentVersionStatus(BUILD_VERSION, BUILD_VERSION).status, 'current', 'an agent of this build');
  const grade = (agent: string) => agentVersionStatus('2.3.1', agent);
  assert.deepEqual(grade('2.2.7'), {
    status: 'older',
    message: 'agent 2.2.7 is older than this vDC (2.3.1): update this host',
  });
  assert.equal(grade('2.3.0').status, 'current');
  assert.equal(grade('2.3.1-rc.1').status, 'current');
  assert.equal(grade('2.1.9').status, 'unsupported');
  assert.equal(grade('1.3.1').status, 'unsupported');
  assert.match(grade('2.3.2').message, /newer than this vDC/);
  assert.match(grade('2.4.0-next').message, /newer than this vDC/);
  assert.equal(grade('0.1').status, 'unsupported');
});
