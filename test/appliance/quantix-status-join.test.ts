// The console screen's join-token lines and keys (appliance/quantix-status) against a real agent,
// on a pty as the operator sees it: the token with its expiry while unjoined, T for a new one,
// "joined to vDC …" once joined, R (refused unless confirmed with "yes") to leave the vDC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { spawn as spawnPty } from 'node-pty';
import { EnrollServiceClient, HostServiceClient } from '@quantix/proto/v1/host.js';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { freePort, REPO, spawnAgent } from '../../server/src/test-support/spawn.js';

const SCRIPT = join(REPO, 'appliance/quantix-status');
const WAIT_MS = 60_000;

test(
  'console screen: join token with expiry, T renews it, joined shows the vDC, R leaves it once confirmed',
  { timeout: 240_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'qxt-status-agent-'));
    const port = await freePort();
    const agent = await spawnAgent(dir, port);
    t.after(async () => {
      await agent.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });
    const address = `127.0.0.1:${port}`;
    const certPem = await readFile(join(dir, 'identity', 'agent.crt'), 'utf8');
    const token = () =>
      readFile(join(dir, 'join-token'), 'utf8').then(
        (x) => x.trim(),
        () => '',
      );

    const pty = spawnPty('bash', [SCRIPT, '/dev/pts/qxt'], {
      cols: 160,
      rows: 50,
      cwd: REPO,
      env: {
        ...process.env,
        QX_STATUS_AGENT_DIR: dir,
        QX_STATUS_QX: `${process.execPath} --import tsx ${join(REPO, 'agent/src/cli/qx.ts')}`,
      },
    });
    let screen = '';
    pty.onData((d) => (screen += d));
    t.after(() => pty.kill('SIGKILL'));
    /** Waits until the output after `from` matches; returns the match and where it ended. */
    const waitFor = async (pattern: RegExp, from: number): Promise<{ m: RegExpMatchArray; end: number }> => {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const m = screen.slice(from).match(pattern);
        if (m) return { m, end: from + m.index! + m[0].length };
        if (Date.now() > deadline)
          throw new Error(
            `no ${pattern} on the screen within ${WAIT_MS / 1000} s:\n${screen.slice(from).slice(-2000)}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const tokenLine = /Host join token: +(qx-[a-z0-9-]+) +\(expires (\d\d:\d\d) UTC; T: new token\)/;

    let shown = await waitFor(tokenLine, 0);
    const first = await token();
    assert.equal(shown.m[1], first);
    const expires = new Date((await readFile(join(dir, 'join-token.expires'), 'utf8')).trim());
    assert.equal(shown.m[2], expires.toISOString().slice(11, 16), "the expiry shown is the token file's");

    pty.write('t');
    let at = (await waitFor(/A new join token is on the screen/, shown.end)).end;
    pty.write('\r');
    shown = await waitFor(tokenLine, at);
    assert.notEqual(shown.m[1], first, 'T made a new token');
    assert.equal(shown.m[1], await token());

    // A vDC joins with it: the screen shows no token, but which vDC has the host.
    const ca = await createCa('qxt status vDC', 1);
    const client = await issueCertificate(ca, { commonName: 'qxt status server', days: 1, usages: ['client'] });
    const enroll = new EnrollServiceClient(address, pinnedCredentials(certPem), {
      'grpc.ssl_target_name_override': 'quantix-agent',
    });
    await new Promise((resolve, reject) =>
      enroll.join(
        { joinToken: shown.m[1]!, caCertificatePem: ca.certPem, vdcId: 'qxt-status-vdc' },
        new Metadata(),
        {},
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    enroll.close();
    at = (await waitFor(/Host join token: +none: joined to vDC qxt-status-vdc \(R: leave it\)/, shown.end)).end;

    const host = new HostServiceClient(address, pinnedCredentials(certPem, client), {
      'grpc.ssl_target_name_override': 'quantix-agent',
    });
    t.after(() => host.close());
    const served = () =>
      new Promise<string>((resolve) =>
        host.getHostInfo({}, new Metadata(), {}, (e: ServiceError | null) =>
          resolve(e ? `${status[e.code]}: ${e.details}` : 'served'),
        ),
      );
    assert.equal(await served(), 'served');

    pty.write('r');
    at = (await waitFor(/This host leaves vDC qxt-status-vdc[\s\S]*Type yes to leave: /, at)).end;
    pty.write('no\r');
    at = (await waitFor(/Not changed\.[\s\S]*Press Enter to go back\. /, at)).end;
    pty.write('\r');
    assert.equal(await served(), 'served', 'anything but yes leaves the host joined');

    pty.write('r');
    at = (await waitFor(/Type yes to leave: /, at)).end;
    pty.write('yes\r');
    at = (await waitFor(/Press Enter to go back\. /, at)).end;
    assert.equal(
      await served(),
      'UNAUTHENTICATED: this host has not been joined to a vDC yet',
      'the vDC is refused once the host left',
    );
    pty.write('\r');
    shown = await waitFor(tokenLine, at);
    assert.equal(shown.m[1], await token(), 'a fresh token is shown');
    // The screen reads files that may be absent (setup code, token): no shell error reaches it.
    assert.doesNotMatch(screen, /quantix-status: line \d+|No such file|unbound variable/);
  },
);
