// The console relay when the agent's connection drops while a websocket is being opened (during
// the audit write between the ticket check and the upgrade): the browser gets a console closed
// with a reason, and the server lives on (it used to die of the stream's unhandled error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import { freePort, spawnAgent } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { ConsoleSocket } from '../test-support/console-socket.js';
import { eventually } from '../test-support/guest-pool.js';

test('qxt-srv console: an agent lost while a shell websocket opens closes it with a reason; the server serves on', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-proxy-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  t.after(async () => {
    await s.stop();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
  });
  const api = s.admin;
  const hostStatus = async (id: string) => (await api.request<HostDto>('GET', `/api/v1/hosts/${id}`)).json.status;
  const host = await eventually('the local host online', async () =>
    (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
  );

  // The agent dies while the server records the session in the audit log.
  const audit = s.services.audit;
  const record = audit.record.bind(audit);
  audit.record = async (entry) => {
    if (entry.action === 'openShell') {
      await agent.kill('SIGKILL');
      await eventually('the host offline', async () => (await hostStatus(host.id)) === 'offline', 30_000);
    }
    return record(entry);
  };
  const ticket = await api.request<{ url: string }>('POST', `/api/v1/hosts/${host.id}/shell-ticket`);
  assert.equal(ticket.status, 201, ticket.text);
  const shell = await ConsoleSocket.open(`wss://127.0.0.1:${s.running.port}${ticket.json.url}`, {
    ca: s.services.certificate.current.certPem,
    cookie: api.cookie!,
    origin: s.base,
  });
  assert.equal(await shell.closed, 1011, 'closed as a server-side failure');
  assert.ok(shell.closedReason, 'the browser is told why');
  assert.equal(await hostStatus(host.id), 'offline', 'the server still answers');
  assert.equal(s.running.console.open, 0, 'no session left open');
});
