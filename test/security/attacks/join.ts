// Host takeover through Join (issue #19 "Trust"): a joined agent refuses Join, whatever token the
// caller read on its console, so an attacker's CA can neither lock the vDC out nor open a root
// shell; join tokens expire; removing the host releases the agent (it forgets the vDC's CA and
// shows a fresh token) and it can join again. Real agent processes, a real server, its REST API.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { EnrollServiceClient, HostServiceClient } from '@quantix/proto/v1/host.js';
import { ConsoleServiceClient } from '@quantix/proto/v1/console.js';
import { createCa, issueCertificate, type KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { attack } from '../attack.js';
import type { HostDto, HostProbeDto } from '../../../server/src/dto/hosts.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { freePort, REPO, spawnAgent, type Child } from '../../../server/src/test-support/spawn.js';
import { eventually } from '../../../server/src/test-support/guest-pool.js';

const run = promisify(execFile);
const GRPC_OPTS = { 'grpc.ssl_target_name_override': 'quantix-agent' };

interface Agent {
  dir: string;
  address: string;
  certPem: string;
  child: Child;
}

async function startAgent(env: Record<string, string> = {}): Promise<Agent> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-join-agent-'));
  const port = await freePort();
  const child = await spawnAgent(dir, port, env);
  return {
    dir,
    address: `127.0.0.1:${port}`,
    child,
    certPem: await readFile(join(dir, 'identity', 'agent.crt'), 'utf8'),
  };
}

/** What the host's console shows as the join token right now ("" for none). */
const consoleToken = (a: Agent) =>
  readFile(join(a.dir, 'join-token'), 'utf8').then(
    (t) => t.trim(),
    () => '',
  );

function unary<Res>(
  client: Client,
  fn: (req: never, md: Metadata, o: object, cb: (e: ServiceError | null, r: Res) => void) => unknown,
  req: object,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn.call(client, req as never, new Metadata(), { deadline: Date.now() + 15_000 }, (e, r) =>
      e ? reject(e) : resolve(r),
    ),
  );
}

/** Opens ConsoleService.Shell with `client`: "opened" once the shell sends anything, else the refusal. */
function tryShell(a: Agent, client: KeyAndCert): Promise<string> {
  const c = new ConsoleServiceClient(a.address, pinnedCredentials(a.certPem, client), GRPC_OPTS);
  return new Promise<string>((resolve) => {
    const call = c.shell(new Metadata(), { deadline: Date.now() + 15_000 });
    call.on('data', () => {
      call.cancel();
      resolve('opened');
    });
    call.on('error', (e: ServiceError) => resolve(`${status[e.code]}: ${e.details}`));
    call.on('end', () => resolve('ended'));
    call.write({ msg: { $case: 'open', value: { vm: '', size: { cols: 80, rows: 24 } } } });
  }).finally(() => c.close());
}

function hostInfoWith(a: Agent, client: KeyAndCert): Promise<string> {
  const c = new HostServiceClient(a.address, pinnedCredentials(a.certPem, client), GRPC_OPTS);
  return unary(c, c.getHostInfo, {})
    .then(
      (info) => `served ${info.hostId}`,
      (e: ServiceError) => `${status[e.code]}: ${e.details}`,
    )
    .finally(() => c.close());
}

describe('join', () => {
  let s: TestServer;
  let agent: Agent;
  let brief: Agent;
  let hostId = '';
  let attacker: { ca: KeyAndCert; client: KeyAndCert };
  let firstToken = '';
  let briefUpAt = 0;

  const addHost = async (a: Agent, joinToken: string) => {
    const probe = await s.admin.request<HostProbeDto>('POST', '/api/v1/hosts/probe', { body: { address: a.address } });
    assert.equal(probe.status, 200, probe.text);
    return s.admin.request<HostDto>('POST', '/api/v1/hosts', {
      body: { address: a.address, fingerprint: probe.json.fingerprint, joinToken },
    });
  };
  const vdcClient = (): KeyAndCert => ({ keyPem: s.services.vdc.clientKeyPem, certPem: s.services.vdc.clientCertPem });

  before(async () => {
    [agent, brief] = await Promise.all([startAgent(), startAgent({ QX_AGENT_JOIN_TOKEN_LIFETIME_S: '1' })]);
    briefUpAt = Date.now();
    s = await startTestServer();
    const ca = await createCa('qxt attacker CA', 1);
    attacker = { ca, client: await issueCertificate(ca, { commonName: 'qxt attacker', days: 1, usages: ['client'] }) };
    firstToken = await consoleToken(agent);
    const added = await addHost(agent, firstToken);
    assert.equal(added.status, 201, added.text);
    hostId = added.json.id;
    await eventually(
      'the host online',
      async () => (await s.admin.request<HostDto>('GET', `/api/v1/hosts/${hostId}`)).json.status === 'online',
    );
  });

  after(async () => {
    await s?.stop();
    for (const a of [agent, brief]) {
      if (!a) continue;
      await a.child.kill('SIGKILL');
      await rm(a.dir, { recursive: true, force: true });
    }
  });

  attack(
    'Join with the token read on a joined host and an own CA: refused; the vDC keeps the host, no root shell',
    async () => {
      const token = (await consoleToken(agent)) || firstToken;
      const enroll = new EnrollServiceClient(agent.address, pinnedCredentials(agent.certPem), GRPC_OPTS);
      const outcome = await unary(enroll, enroll.join, {
        joinToken: token,
        caCertificatePem: attacker.ca.certPem,
        vdcId: 'attacker',
      }).then(
        () => 'joined',
        (e: ServiceError) => `${status[e.code]}: ${e.details}`,
      );
      enroll.close();
      assert.match(
        outcome,
        /^FAILED_PRECONDITION: already joined to vDC \S+ \(CA SHA-256 [0-9A-F:]+\); reset at the host's console or remove it from that vDC$/,
      );
      assert.match(outcome, new RegExp(s.services.vdc.id), 'the refusal names the vDC it belongs to');
      assert.equal(await consoleToken(agent), '', 'a joined host shows no join token');

      assert.match(
        await tryShell(agent, attacker.client),
        /^UNAUTHENTICATED/,
        "the attacker's certificate opens no shell",
      );
      // Nor can it make the host leave its vDC.
      const leaver = new HostServiceClient(agent.address, pinnedCredentials(agent.certPem, attacker.client), GRPC_OPTS);
      const left = await unary(leaver, leaver.leave, { vdcId: 'attacker' }).then(
        () => 'left',
        (e: ServiceError) => status[e.code],
      );
      leaver.close();
      assert.equal(left, 'UNAUTHENTICATED');
      assert.equal(await hostInfoWith(agent, vdcClient()), `served ${hostId}`, 'the vDC still reaches the agent');
      const host = (await s.admin.request<HostDto>('GET', `/api/v1/hosts/${hostId}`)).json;
      assert.equal(host.status, 'online');

      // Through the vDC too: adding the joined host again is refused with a clear error.
      const again = await addHost(agent, token || 'qx-none');
      assert.equal(again.status, 409, again.text);
      assert.match(again.text, /already joined to this vDC/);
    },
  );

  attack('Join with an expired token: refused, saying it expired', async () => {
    const token = await consoleToken(brief);
    assert.match(token, /^qx-/);
    const expiresFile = join(brief.dir, 'join-token.expires');
    // Without an expiry file: the lifetime asked for, counted from the agent being up.
    const expiresAt = existsSync(expiresFile)
      ? new Date((await readFile(expiresFile, 'utf8')).trim()).getTime()
      : briefUpAt + 1_000;
    await eventually('the token to expire', async () => Date.now() > expiresAt, 10_000);
    const r = await addHost(brief, token);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /join token expired at .*make a new one at the host's console/);
    assert.equal(await hostInfoWith(brief, vdcClient()), 'UNAUTHENTICATED: this host has not been joined to a vDC yet');
  });

  attack('Removing the host: its agent forgets the vDC CA, shows a fresh token, and can join again', async () => {
    const removed = await s.admin.request<{ agentReleased: boolean; message: string }>(
      'DELETE',
      `/api/v1/hosts/${hostId}`,
    );
    assert.equal(removed.status, 200, removed.text);
    assert.equal(removed.json.agentReleased, true, removed.json.message);
    assert.match(await hostInfoWith(agent, vdcClient()), /^UNAUTHENTICATED/, "the vDC's certificate is refused now");
    const fresh = await consoleToken(agent);
    assert.match(fresh, /^qx-/);
    assert.notEqual(fresh, firstToken);
    assert.ok(
      new Date((await readFile(join(agent.dir, 'join-token.expires'), 'utf8')).trim()).getTime() > Date.now(),
      'valid for a while',
    );

    const rejoined = await addHost(agent, fresh);
    assert.equal(rejoined.status, 201, rejoined.text);
    assert.equal(rejoined.json.id, hostId, 'the same host');
    assert.equal(await hostInfoWith(agent, vdcClient()), `served ${hostId}`);
  });

  attack(
    "A reset at the host's console (qx agent leave): the vDC's certificate is refused at once, a fresh token shows",
    async () => {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', 'agent/src/cli/qx.ts', 'agent', 'leave', '--data-dir', agent.dir],
        { cwd: REPO },
      );
      const after = JSON.parse(stdout) as { joined: boolean; token: string; tokenExpiresAt: string };
      assert.equal(after.joined, false);
      assert.equal(after.token, await consoleToken(agent), 'the running agent made the token the console shows');
      assert.match(await hostInfoWith(agent, vdcClient()), /^UNAUTHENTICATED/);
      await eventually(
        'the vDC to see the host offline',
        async () => (await s.admin.request<HostDto>('GET', `/api/v1/hosts/${hostId}`)).json.status === 'offline',
      );
      const removed = await s.admin.request<{ agentReleased: boolean; message: string }>(
        'DELETE',
        `/api/v1/hosts/${hostId}`,
      );
      assert.equal(removed.status, 200, removed.text);
      assert.equal(removed.json.agentReleased, false, 'the agent no longer answers this vDC');
      const rejoined = await addHost(agent, after.token);
      assert.equal(rejoined.status, 201, rejoined.text);
    },
  );
});
