// `qx` as a client of the vDC API, run as the real command against a real server and agent:
// login pins the certificate (refusing another one) and keeps a token, not the password; an OVA
// imported through the server becomes a template; the deployed VM is listed, shown, stopped and
// started, and its serial console is typed into; `--json` everywhere; failures are one clear line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { CreatedTokenDto, TokenDto } from '../../server/src/dto/users.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { REPO, freePort, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { eventually, removeDomain, removeLibvirtPool, srvName } from '../../server/src/test-support/guest-pool.js';
import { buildGuestOva } from '../appliance/guest-ova.js';

const execFileP = promisify(execFile);
const QX = join(REPO, 'agent/bin/qx.js');

interface QxResult {
  code: number;
  stdout: string;
  stderr: string;
}

test(
  'qx drives the vDC API: login, ova import, vm list/show/stop/start/console, host list, task watch',
  { timeout: 600_000 },
  async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'qxt-cli-'));
    await chmod(work, 0o755); // QEMU (another user) opens the pool's disks below it
    const agentDir = join(work, 'agent');
    const poolDir = join(work, 'pool');
    await mkdir(agentDir, { mode: 0o700 });
    await mkdir(poolDir, { mode: 0o755 });
    const port = await freePort();
    const agent: Child = await spawnAgent(agentDir, port);
    const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
    const vmName = srvName('qx');
    const poolName = srvName('qxpool');
    const config = join(work, 'home', 'qx.json');
    t.after(async () => {
      await removeDomain(vmName);
      await s.admin.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}`).catch(() => undefined);
      await s.stop();
      await agent.kill();
      await removeLibvirtPool(poolName);
      await rm(work, { recursive: true, force: true });
    });
    const env = { ...process.env, QX_CONFIG: config, QX_SERVER: '', QX_TOKEN: '' };
    const qx = async (args: string[], input?: string): Promise<QxResult> => {
      const child = execFileP(process.execPath, [QX, ...args], { env, timeout: 300_000 });
      if (input !== undefined) child.child.stdin!.end(input);
      else child.child.stdin!.end();
      return child.then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    };
    const json = async <T>(args: string[]): Promise<T> => {
      const r = await qx([...args, '--json']);
      assert.equal(r.code, 0, `qx ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };

    const api = s.admin;
    const host = await eventually('the local host online', async () =>
      (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
    );
    const poolTask = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
      body: { name: poolName, kind: 'dir', path: poolDir },
    });
    assert.equal(poolTask.status, 202, poolTask.text);
    // The HTTPS CA's fingerprint: the leaf is reissued whenever this machine's addresses change
    // (other tests make interfaces), the CA stays.
    const chain = s.services.certificate.current.certPem.match(
      /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
    )!;
    const fingerprint = new X509Certificate(chain.at(-1)!).fingerprint256;
    const anyFingerprint = '[0-9A-F]{2}(:[0-9A-F]{2}){31}';

    await t.test(
      'login refuses a certificate other than the one named, and asks for it without a terminal',
      async () => {
        const token = (await api.request<CreatedTokenDto>('POST', '/api/v1/tokens', { body: { name: 'qxt-cli' } }))
          .json;
        const other = fingerprint.replace(/^.{2}/, fingerprint.startsWith('00') ? '11' : '00');
        const wrong = await qx(['login', s.base, '--token', token.secret, '--fingerprint', other]);
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, new RegExp(`presented the certificate ${anyFingerprint}, not the one given`));
        const unasked = await qx(['login', s.base, '--token', token.secret]);
        assert.equal(unasked.code, 1);
        assert.match(unasked.stderr, new RegExp(`its fingerprint is ${anyFingerprint}`));
        await assert.rejects(stat(config), 'nothing saved by a refused login');
        const notLoggedIn = await qx(['vm', 'list']);
        assert.equal(notLoggedIn.code, 1);
        assert.equal(
          notLoggedIn.stderr,
          'qx: not logged in: run `qx login https://<appliance>` (or set QX_SERVER and QX_TOKEN)\n',
        );
      },
    );

    await t.test(
      'login with a password keeps a token of its own (mode 0600), never the password; logout revokes it',
      async () => {
        const r = await qx(
          ['login', s.base, '--user', 'admin', '--password-stdin', '--fingerprint', fingerprint],
          `${ADMIN_PASSWORD}\n`,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Logged in to https:\/\/127\.0\.0\.1:\d+ as admin \(admin\)/);
        assert.equal((await stat(config)).mode & 0o777, 0o600);
        const saved = await readFile(config, 'utf8');
        assert.ok(!saved.includes(ADMIN_PASSWORD), 'the password is not stored');
        const tokens = (await api.request<TokenDto[]>('GET', '/api/v1/tokens')).json;
        assert.ok(
          tokens.some((tk) => tk.name.startsWith('qx@')),
          'a qx@<machine> token was made',
        );
        const out = await qx(['logout']);
        assert.equal(out.code, 0, out.stderr);
        await assert.rejects(stat(config));
        const after = (await api.request<TokenDto[]>('GET', '/api/v1/tokens')).json;
        assert.ok(!after.some((tk) => tk.name.startsWith('qx@')), 'logout revoked the token it made');
        const again = await qx(
          ['login', s.base, '--user', 'admin', '--password-stdin', '--fingerprint', fingerprint],
          'wrong-password\n',
        );
        assert.equal(again.code, 1);
        assert.match(again.stderr, /^qx: .*(password|credentials)/i);
      },
    );

    await t.test('host list, OVA import through the server, then the VM verbs', async () => {
      const r = await qx(
        ['login', s.base, '--user', 'admin', '--password-stdin', '--fingerprint', fingerprint],
        `${ADMIN_PASSWORD}\n`,
      );
      assert.equal(r.code, 0, r.stderr);
      const hosts = await json<HostDto[]>(['host', 'list']);
      assert.deepEqual(
        hosts.map((h) => [h.id, h.status]),
        [[host.id, 'online']],
      );
      const table = await qx(['host', 'list']);
      assert.match(table.stdout, /^NAME\s+STATUS\s+ADDRESS/);
      assert.match(table.stdout, /online/);

      const ovaFile = join(work, 'guest.ova');
      await writeFile(ovaFile, await buildGuestOva(work, 'qxt-cli-guest'));
      const imported = await json<TaskDto>([
        'ova',
        'import',
        ovaFile,
        '--host',
        host.name,
        '--pool',
        poolName,
        '--name',
        'qxt-cli-tpl',
      ]);
      assert.equal(imported.status, 'succeeded');
      const templateId = (imported.result as { templateId: string }).templateId;
      const deploy = await api.request<TaskDto>('POST', `/api/v1/templates/${templateId}/deploy`, {
        body: { name: vmName, start: false },
      });
      assert.equal(deploy.status, 202, deploy.text);
      const watched = await json<TaskDto>(['task', 'watch', deploy.json.id]);
      assert.equal(watched.status, 'succeeded');
      const vmId = (watched.result as { vmId: string }).vmId;

      const listed = await json<VmDto[]>(['vm', 'list', '--host', host.name]);
      assert.deepEqual(
        listed.filter((v) => v.name === vmName).map((v) => [v.id, v.state]),
        [[vmId, 'shutoff']],
      );
      const shown = await qx(['vm', 'show', vmName]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`ID\\s+${vmId}`));
      assert.match(shown.stdout, /State\s+shutoff/);

      const started = await json<TaskDto>(['vm', 'start', vmName]);
      assert.equal(started.status, 'succeeded');
      assert.equal((await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json.state, 'running');

      // The console: typed lines come back with the guest's echo prefix (typed until one does, since
      // the guest may still be booting when the console attaches); stdin's end closes it.
      const child = spawn(process.execPath, [QX, 'vm', 'console', vmName], { env });
      let output = '';
      child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
      const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
      await eventually(
        'the guest echoes a line typed into qx vm console',
        async () => {
          child.stdin.write('qx-cli-probe\r');
          return output.includes('qx-echo: qx-cli-probe');
        },
        180_000,
      );
      child.stdin.end();
      assert.equal(await exited, 0);

      const stopped = await json<TaskDto>(['vm', 'stop', vmName, '--force']);
      assert.equal(stopped.status, 'succeeded');
      assert.equal((await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json.state, 'shutoff');
    });

    await t.test('the one-file qx.mjs the server hands out runs alone on QX_SERVER/QX_TOKEN/QX_CA_FILE', async () => {
      await execFileP('npm', ['run', '-s', 'build:qx', '-w', '@quantix/server'], { cwd: REPO, timeout: 120_000 });
      const viewer = await s.userWithRole('viewer');
      const download = await viewer.request('GET', '/api/v1/cli/qx.mjs');
      assert.equal(download.status, 200, download.text.slice(0, 200));
      assert.match(String(download.headers['content-disposition']), /qx\.mjs/);
      assert.equal((await s.client().request('GET', '/api/v1/cli/qx.mjs')).status, 401, 'not without signing in');
      // Alone in an empty directory: no node_modules, no repository beside it.
      const alone = join(work, 'alone');
      await mkdir(alone);
      await writeFile(join(alone, 'qx.mjs'), download.raw);
      await writeFile(join(alone, 'ca.pem'), s.services.certificate.current.certPem);
      const token = (await api.request<CreatedTokenDto>('POST', '/api/v1/tokens', { body: { name: 'qxt-alone' } }))
        .json;
      const r = await execFileP(process.execPath, ['qx.mjs', 'host', 'list', '--json'], {
        cwd: alone,
        env: { PATH: process.env.PATH, HOME: alone, QX_SERVER: s.base, QX_TOKEN: token.secret, QX_CA_FILE: 'ca.pem' },
      });
      assert.deepEqual(
        (JSON.parse(r.stdout) as HostDto[]).map((h) => h.id),
        [host.id],
      );
    });

    await t.test('failures are one line naming what was wrong, with exit code 1', async () => {
      const missing = await qx(['vm', 'start', 'qxt-cli-no-such-vm']);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, 'qx: no VM "qxt-cli-no-such-vm" (qx vm list shows them)\n');
      const badTimeout = await qx(['vm', 'stop', vmName, '--timeout', 'soon']);
      assert.equal(badTimeout.code, 1);
      assert.match(badTimeout.stderr, /--timeout must be a number of seconds/);
      const noTask = await qx(['task', 'watch', 'qxt-no-such-task']);
      assert.equal(noTask.code, 1);
      assert.match(noTask.stderr, /^qx: .*task/i);
      // A token with the viewer role: the server's own refusal comes through.
      const viewerToken = (
        await api.request<CreatedTokenDto>('POST', '/api/v1/tokens', { body: { name: 'qxt-viewer', role: 'viewer' } })
      ).json;
      const viewerEnv = { ...env, QX_CONFIG: join(work, 'viewer.json') };
      await execFileP(
        process.execPath,
        [QX, 'login', s.base, '--token', viewerToken.secret, '--fingerprint', fingerprint],
        {
          env: viewerEnv,
        },
      );
      const refused = await execFileP(process.execPath, [QX, 'vm', 'start', vmName], { env: viewerEnv }).then(
        () => undefined,
        (e: QxResult) => e,
      );
      assert.ok(refused, 'a viewer cannot start a VM');
      assert.match(refused.stderr, /^qx: .*(role|operator|not allowed|forbidden)/i);
    });
  },
);
