// The appliance end to end (run by `make test-appliance`, not `npm test`): boot the ISO in QEMU with
// a blank data disk, drive it through the real API, install it to a second disk, boot that disk
// without the ISO and find the admin, the pool and the VM again; update it to N+1 with a signed
// bundle (#25: the ISO's layers plus another release string) and find its data and the autostart
// VM running on slot b; then apply a bundle whose server cannot start and see it come back on N+1
// by itself. Prints the update and rollback times. Serial logs stay in test/output/appliance/ (the
// failing boot's log tail is printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { ApplianceUpdateDto } from '../../server/src/dto/appliance-update.js';
import { testGuest, assertGuestBuilt } from '../guest/fixture.js';
import { applianceIso, blankDisk, bootAppliance, extractBootFiles, repoRoot, waitForHttps } from './appliance-boot.js';
import { ApplianceClient } from './appliance-client.js';
import { buildGuestOva } from './guest-ova.js';
import { runOnHost } from './host-shell.js';
import type { QemuMachine } from './qemu-machine.js';
import { layeredBundle, releaseFile } from './update-bundles.js';

const workDir = join(repoRoot, 'test/output/appliance');
const port = 18443 + (process.pid % 1000);
const password = `qxt-App-${process.pid}-pw`;
const minutes = (n: number) => n * 60_000;
const names = { pool: 'qxt-app-pool', template: 'qxt-app-guest', vm: 'qxt-app-vm', user: 'qxt-app-operator' };
/** The versions of the update bundles this test builds (the ISO is N). */
const versions = { next: '99.0.0-next', broken: '99.0.1-broken' };

interface HostDto {
  id: string;
  local: boolean;
  status: string;
  statusMessage: string;
}
interface TaskDto {
  id: string;
  status: string;
  error: string | null;
  result: unknown;
}
interface VmDto {
  id: string;
  name: string;
  state: string;
}
interface PoolDto {
  name: string;
}
interface NetworkDto {
  name: string;
  kind: string;
  active: boolean;
}
interface HostInterfaceDto {
  name: string;
  mac: string;
  kind: string;
  addresses: string[];
  management: boolean;
}

/** Serial lines that explain most failures: warnings and errors logged, crashes, restarts, OOM kills. */
const telling =
  /"level":"(warn|error)"|Main process exited|Failed with result|Scheduled restart job|Started .*quantix-(server|agent)|Unhandled|uncaught|Error: |invoked oom-killer|Out of memory|Killed process|segfault|Call Trace/;

/**
 * Prints the end of a boot's serial log, and rethrows with the telling lines of the whole log. CI
 * reports a failing test's first line and last lines only: the failure itself comes last, with its
 * first stack frames and no `cause` (whose stack would push it out of view).
 */
async function reportFailure(vm: QemuMachine | undefined, err: unknown): Promise<never> {
  if (!vm) throw err;
  process.stderr.write(`\n--- last serial output of ${vm.options.name} (full log: ${vm.options.serialLog}) ---\n`);
  process.stderr.write(vm.serial.slice(-6000) + '\n---\n');
  const lines = vm.serial
    .split('\n')
    .filter((l) => telling.test(l))
    .slice(-12)
    .map((l) => l.replaceAll(password, '<password>').slice(0, 300));
  const original = err instanceof Error ? err : new Error(String(err));
  const frames = (original.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  const cpus = await vm.cpuReport();
  const failure = new Error(
    `--- what ${vm.options.name} logged (warnings, errors, restarts) ---\n${lines.join('\n')}\n${vm.bootTimeline()}\n${thisMachine()}\n${cpus}\n--- the failure ---\n${original.message}`,
  );
  failure.stack = `Error: ${failure.message}\n${frames.slice(0, 3).join('\n')}`;
  throw failure;
}

/**
 * One line on this machine's load and its busiest processes (CPU share over each one's life): a
 * starved TCG appliance stalls (RCU stalls, soft lockups) and its calls fail.
 */
function thisMachine(): string {
  let busiest: string;
  try {
    busiest = execFileSync('ps', ['-eo', 'pcpu=,etimes=,args=', '--sort=-pcpu'], { encoding: 'utf8', timeout: 10_000 })
      .split('\n')
      .filter((l) => l.trim() && !l.includes(' ps -eo '))
      .slice(0, 5)
      .map((l) =>
        l
          .trim()
          .replace(/^(\S+)\s+(\S+)\s+/, '$1% over $2 s: ')
          .slice(0, 100),
      )
      .join(', ');
  } catch (e) {
    // Never hide the failure being reported.
    busiest = `(ps failed: ${(e as Error).message})`;
  }
  return `--- this machine: load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; busiest: ${busiest}`;
}

async function waitTask(api: ApplianceClient, task: TaskDto, timeoutMs: number): Promise<TaskDto> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await api.expect<TaskDto>(200, 'GET', `/api/v1/tasks/${task.id}`);
    if (t.status === 'succeeded') return t;
    if (t.status === 'failed') throw new Error(`task ${t.id} failed: ${t.error}`);
    if (Date.now() > deadline) throw new Error(`task ${t.id} still ${t.status} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function localHost(api: ApplianceClient, timeoutMs: number): Promise<HostDto> {
  const deadline = Date.now() + timeoutMs;
  let last: HostDto | undefined;
  while (Date.now() < deadline) {
    last = (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local);
    if (last?.status === 'online') return last;
    await new Promise((r) => setTimeout(r, 3000));
  }
  throw new Error(`local host not online: ${JSON.stringify(last)}`);
}

/** Polls `probe` until it gives a value; errors count as "not yet" (the appliance may be rebooting). */
async function untilValue<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last: ${String(last)})` : ''}`);
}

/** Uploads an update bundle (Appliance › Updates); the appliance verified it as `version`. */
async function uploadBundle(api: ApplianceClient, file: string, version: string): Promise<void> {
  const up = await api.call<ApplianceUpdateDto>(
    'PUT',
    '/api/v1/appliance/update/bundle',
    await readFile(file),
    15 * 60_000,
  );
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.bundle?.version, version);
}

/** Applies the uploaded bundle: written into `toSlot`, which boots once next (the appliance reboots). */
async function applyBundle(api: ApplianceClient, toSlot: 'a' | 'b'): Promise<void> {
  const applied = await api.call<ApplianceUpdateDto>('POST', '/api/v1/appliance/update/apply', undefined, minutes(10));
  assert.equal(applied.status, 202, JSON.stringify(applied.body));
  assert.equal(applied.body.lastAttempt?.toSlot, toSlot);
}

/** The server learns of a new VM from the host's inventory: wait until it lists it. */
async function waitForVm(api: ApplianceClient, id: string, timeoutMs: number): Promise<VmDto> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await api.call<VmDto>('GET', `/api/v1/vms/${id}`);
    if (reply.status === 200) return reply.body;
    if (Date.now() > deadline)
      throw new Error(`VM ${id} not listed after ${timeoutMs / 1000} s: ${reply.status} ${JSON.stringify(reply.body)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The guest echoes every line it reads as `qx-echo: <line>` (the tty's own echo has no prefix). */
const probeEcho = new RegExp(`${testGuest.echoPrefix}[^\\n]*qx-probe`);

/**
 * One look at the VM's serial console: the guest is up and the console works both ways once it
 * echoes one of the probe lines typed every 5 s. The banner alone proves less: it may come from
 * the scrollback replayed on attach (the serial log), not from the live console.
 */
async function watchConsole(
  api: ApplianceClient,
  vmId: string,
  timeoutMs: number,
): Promise<{ up: boolean; seen: string; why: string }> {
  const { url } = await api.expect<{ url: string }>(201, 'POST', `/api/v1/vms/${vmId}/console-ticket`);
  const ws = api.openSocket(url);
  const started = Date.now();
  let seen = '';
  let probes = 0;
  const probe = setInterval(() => ws.readyState === ws.OPEN && ws.send(Buffer.from(`qx-probe-${++probes}\r`)), 5_000);
  try {
    return await new Promise((resolve) => {
      const end = (up: boolean, why: string) => {
        clearTimeout(timer);
        resolve({ up, seen, why });
      };
      const isUp = () => probeEcho.test(seen);
      const timer = setTimeout(
        () => end(false, `no echo within ${timeoutMs / 1000} s (${probes} probes typed)`),
        timeoutMs,
      );
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        seen += (data as Buffer).toString('utf8');
        const banner = seen.includes(testGuest.banner) ? ', banner seen' : '';
        if (isUp()) end(true, `probe echoed after ${Math.round((Date.now() - started) / 1000)} s${banner}`);
      });
      ws.on('close', (code) => end(isUp(), `console closed (${code})`));
      ws.on('error', (e) => end(false, `console error: ${e.message}`));
    });
  } finally {
    clearInterval(probe);
    ws.close();
  }
}

/** What libvirt and QEMU inside the appliance say about its VMs (for a failure report). */
function vmDiagnostics(api: ApplianceClient, hostId: string): Promise<string> {
  const virsh = 'virsh -c qemu:///system';
  const command = `${virsh} list --all; ${virsh} domstats --state --cpu-total; tail -n 8 /var/log/libvirt/qemu/*.log; uptime`;
  return runOnHost(api, hostId, command).catch((e: Error) => `(diagnostics failed: ${e.message})`);
}

/**
 * Waits until the test guest answers on the VM's serial console. The guest runs under TCG inside
 * the TCG-emulated appliance (no nested KVM, see the live boot): about 3 minutes to its prompt on a
 * quiet 2-core machine. After `attemptMs` without an answer the miss is reported with what libvirt
 * and QEMU inside the appliance say, and the VM is powered off and started again, up to `attempts`
 * times.
 */
async function awaitGuestConsole(
  api: ApplianceClient,
  hostId: string,
  vmId: string,
  attempts: number,
  attemptMs: number,
): Promise<void> {
  const misses: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const look = await watchConsole(api, vmId, attemptMs);
    if (look.up) {
      process.stderr.write(`guest console: ${look.why} (attempt ${attempt})\n`);
      return;
    }
    const miss = `attempt ${attempt}: ${look.why}; console said ${JSON.stringify(look.seen.slice(-500))}\n${await vmDiagnostics(api, hostId)}`;
    process.stderr.write(`guest console, ${miss}\n`);
    misses.push(miss);
    if (attempt < attempts) {
      await waitTask(api, await api.expect<TaskDto>(202, 'POST', `/api/v1/vms/${vmId}/force-off`), minutes(3));
      await waitTask(api, await api.expect<TaskDto>(202, 'POST', `/api/v1/vms/${vmId}/start`), minutes(5));
    }
  }
  throw new Error(`the guest never answered on its console:\n${misses.join('\n')}`);
}

test('appliance: live boot → API → install to disk → boot from disk', async (t) => {
  assertGuestBuilt();
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const iso = applianceIso();
  const bootFiles = await extractBootFiles(iso, join(workDir, 'boot'));
  const data = { ...(await blankDisk(join(workDir, 'data.img'), 8)), serial: 'qx-data' };
  const target = { ...(await blankDisk(join(workDir, 'target.img'), 12)), serial: 'qx-target' };
  let vm: QemuMachine | undefined;
  // Built while the first boots run; awaited by the update steps.
  const bundles = Promise.all([
    layeredBundle(workDir, 'next', versions.next, releaseFile(versions.next)),
    layeredBundle(workDir, 'broken', versions.broken, {
      ...releaseFile(versions.broken),
      'usr/lib/quantix/quantix-server-start': {
        text: '#!/bin/sh\necho "quantix-server-start: broken on purpose by the appliance test" >&2\nexit 1\n',
        mode: 0o755,
      },
    }),
  ]).then(([next, broken]) => ({ next, broken }));
  bundles.catch(() => undefined); // reported by the step that awaits it
  t.after(async () => {
    await vm?.stop();
    await rm(data.file, { force: true });
    await rm(target.file, { force: true });
    await bundles.then(
      (b) => Promise.all(Object.values(b).map((f) => rm(join(f, '..'), { recursive: true, force: true }))),
      () => undefined,
    );
  });

  // The steps build on each other: after a failure the rest fail at once, naming it, instead of
  // waiting out their timeouts, and the failed step's QEMU is stopped (the next boot takes its port).
  let failedStep: string | undefined;
  const step = (name: string, body: () => Promise<void>) =>
    t.test(name, async () => {
      if (failedStep) throw new Error(`not run: the step "${failedStep}" failed`);
      try {
        await body();
      } catch (err) {
        failedStep = name;
        await vm?.stop();
        throw err;
      }
    });

  let hostId = '';
  let vmId = '';
  await step('live boot with a blank data disk answers HTTPS; the status screen shows the fingerprint', async () => {
    vm = bootAppliance(
      {
        name: 'live',
        workDir,
        iso,
        // No KVM inside: under this machine's TCG, a guest nested in the appliance's KVM (QEMU's
        // emulated SVM) now and then hangs the appliance itself (CI: the RCU grace-period kthread
        // starved on the vCPU running the guest, then silence; earlier, guests silent for 10 minutes).
        // The VM is defined while the live system runs, so it stays type 'qemu' after the install.
        cmdline: `quantix.data_disk=/dev/disk/by-id/virtio-qx-data quantix.admin_password=${password} modprobe.blacklist=kvm_amd,kvm_intel`,
        disks: [data],
        httpsPort: port,
      },
      bootFiles,
    );
    try {
      const fingerprint = await waitForHttps(vm, port, minutes(8));
      const screen = await vm.waitForSerial(/TLS certificate SHA-256: ([0-9A-F:]{95})/, minutes(2));
      assert.equal(screen[1], fingerprint, 'status screen fingerprint = served certificate');
      // The server joins its own agent at once: from then on the screen shows no token (#19).
      await vm.waitForSerial(/Host join token: +none: joined to vDC [0-9a-f-]{36}/, minutes(2));
      assert.match(vm.serial, /quantix-data: formatting blank disk/);
    } catch (err) {
      await reportFailure(vm, err);
    }
  });

  const client = async () => {
    const fp = await waitForHttps(vm!, port, minutes(8));
    return new ApplianceClient(port, fp);
  };
  /** A signed-in client once the appliance reports `version` (it may be rebooting until then). */
  const onVersion = (version: string, timeoutMs: number) =>
    untilValue(`API on ${version}`, timeoutMs, async () => {
      const api = new ApplianceClient(port, await waitForHttps(vm!, port, minutes(1)));
      await api.login('admin', password);
      const s = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
      return s.version === version ? api : undefined;
    });

  await step('admin from the kernel command line; local host online; loop pool; OVA import; VM console', async () => {
    let api: ApplianceClient | undefined;
    try {
      api = await client();
      const status = await api.expect<{ needsSetup: boolean }>(200, 'GET', '/api/v1/setup/status');
      assert.equal(status.needsSetup, false, 'quantix.admin_password= created the admin');
      const denied = await api.call('GET', '/api/v1/hosts');
      assert.equal(denied.status, 401);
      await api.login('admin', password);
      const live = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
      assert.equal(live.installed, false, 'a live system says updates need an installed one');
      assert.ok(live.notice, JSON.stringify(live));
      hostId = (await localHost(api, minutes(5))).id;
      const kvm = await runOnHost(api, hostId, 'test -e /dev/kvm; echo "kvm-rc=$?"');
      assert.match(kvm, /kvm-rc=1/, `no /dev/kvm: the test guest must not run nested in KVM: ${kvm}`);
      // A reboot stops the VMs before libvirtd, within a bound: Debian's unit alone could hang it.
      const guests = await runOnHost(api, hostId, 'systemctl show -p After -p TimeoutStopUSec libvirt-guests.service');
      assert.match(guests, /^After=.*\blibvirtd\.service\b/m, guests);
      assert.match(guests, /^TimeoutStopUSec=2min 30s\r?$/m, guests);
      // The agent makes it once libvirt answers (on a slow first boot, after the host is online).
      let networks: NetworkDto[] = [];
      const natBy = Date.now() + minutes(5);
      const natUp = () => networks.some((n) => n.name === 'vm-nat' && n.kind === 'nat' && n.active);
      while (!natUp() && Date.now() < natBy) {
        networks = await api.expect<NetworkDto[]>(200, 'GET', `/api/v1/hosts/${hostId}/networks`);
        if (!natUp()) await new Promise((r) => setTimeout(r, 3000));
      }
      assert.ok(natUp(), `first boot made the default NAT network: ${JSON.stringify(networks)}`);

      const poolTask = await api.expect<TaskDto>(202, 'POST', `/api/v1/hosts/${hostId}/pools`, {
        name: names.pool,
        kind: 'loop',
        sizeBytes: 1024 ** 3,
        filesystem: 'ext4',
      });
      await waitTask(api, poolTask, minutes(5));

      const ova = await buildGuestOva(workDir, names.template);
      const opened = await api.expect<{ uploadUrl: string }>(202, 'POST', '/api/v1/templates/uploads', {
        hostId,
        pool: names.pool,
        name: names.template,
        sizeBytes: ova.length,
      });
      const imported = await api.expect<TaskDto>(200, 'PUT', opened.uploadUrl, ova, minutes(10));
      const template = { id: (imported.result as { templateId: string }).templateId };
      const deploy = await api.expect<TaskDto>(202, 'POST', `/api/v1/templates/${template.id}/deploy`, {
        name: names.vm,
        memoryMib: testGuest.memoryMib,
        start: false,
      });
      vmId = ((await waitTask(api, deploy, minutes(5))).result as { vmId: string }).vmId;
      await waitForVm(api, vmId, minutes(3));
      await waitTask(api, await api.expect<TaskDto>(202, 'POST', `/api/v1/vms/${vmId}/start`), minutes(5));
      await awaitGuestConsole(api, hostId, vmId, 2, minutes(10));
      // `qx` is on the appliance's PATH and talks to its own server under the pinned certificate.
      const { fingerprint } = await api.expect<{ fingerprint: string }>(200, 'GET', '/api/v1/settings/certificate');
      const { secret } = await api.expect<{ secret: string }>(201, 'POST', '/api/v1/tokens', {
        name: 'qxt-appliance-qx',
      });
      const listed = await runOnHost(
        api,
        hostId,
        `qx login https://127.0.0.1 --token ${secret} --fingerprint ${fingerprint} && qx vm list; echo "qx-rc=$?"`,
        minutes(1),
      );
      assert.match(listed, new RegExp(`${names.vm}\\s+running`), listed);
      assert.match(listed, /qx-rc=0/, listed);
      // The guest keeps running: the next power-down of the appliance must stop it (libvirt-guests).
    } catch (err) {
      // The tasks say what the host did when a route only reports a 500.
      const tasks = await api?.call<TaskDto[]>('GET', '/api/v1/tasks?limit=5').catch(() => undefined);
      if (tasks) process.stderr.write(`recent tasks: ${JSON.stringify(tasks.body, null, 1)}\n`);
      await reportFailure(vm, err);
    }
  });

  await step(
    'a bridged network over the management NIC: the address moves to the bridge, networkd leaves it there, the console menu refuses to address the port',
    async () => {
      const bridged = 'qxt-app-br';
      const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const interfaces = (api: ApplianceClient) =>
        api.expect<HostInterfaceDto[]>(200, 'GET', `/api/v1/hosts/${hostId}/interfaces`);
      const holds = (i: HostInterfaceDto | undefined) => !!i?.addresses.some((a) => a.startsWith('10.0.2.15/'));
      try {
        const api = await client();
        await api.login('admin', password);
        const nic = (await interfaces(api)).find((i) => i.management && i.kind === 'physical');
        assert.ok(nic && holds(nic), `the management NIC holds the DHCP address: ${JSON.stringify(nic)}`);
        const unconfirmed = await api.call('POST', `/api/v1/hosts/${hostId}/networks`, {
          name: bridged,
          kind: 'bridged',
          uplink: nic.name,
        });
        assert.equal(
          unconfirmed.status,
          409,
          `moving the management address needs a confirmation: ${JSON.stringify(unconfirmed.body)}`,
        );
        await api.expect(201, 'POST', `/api/v1/hosts/${hostId}/networks`, {
          name: bridged,
          kind: 'bridged',
          uplink: nic.name,
          confirmManagementMove: true,
        });
        // The agent wrote networkd's runtime files and reloaded it: give networkd time to act on them.
        await settle(20_000);
        await waitForHttps(vm!, port, minutes(1));
        const moved = await interfaces(api);
        const bridge = moved.find((i) => i.kind === 'bridge' && holds(i));
        assert.ok(bridge, `the management address is on a bridge: ${JSON.stringify(moved)}`);
        // Made with the NIC's MAC, which udev (MACAddressPolicy=persistent) must not replace: with
        // another MAC, QEMU's DHCP server gives the bridge a new address (10.0.2.16) and HTTPS is lost.
        assert.equal(bridge.mac, nic.mac, `the bridge has the NIC's MAC: ${JSON.stringify(moved)}`);
        assert.ok(
          !holds(moved.find((i) => i.name === nic.name)),
          `networkd gave the bridge port no address of its own: ${JSON.stringify(moved)}`,
        );
        // The console screen's network menu now refuses a static address for the bridged NIC (saved,
        // it would do nothing: the agent's networkd files for the bridge win).
        const refused = await runOnHost(
          api,
          hostId,
          `/usr/lib/quantix/quantix-network static ${nic.name} 10.0.2.15/24 10.0.2.2; echo "qx-rc=$?"`,
        );
        assert.match(
          refused,
          new RegExp(`interface: ${nic.name} is a port of bridge \\S+, which carries its address`),
          refused,
        );
        assert.match(refused, /qx-rc=1/, refused);

        await api.expect(204, 'DELETE', `/api/v1/hosts/${hostId}/networks/${bridged}`);
        const deadline = Date.now() + minutes(2);
        while (!holds((await interfaces(api).catch(() => [])).find((i) => i.name === nic.name))) {
          if (Date.now() > deadline)
            throw new Error(`the NIC did not get its address back: ${JSON.stringify(await interfaces(api))}`);
          await settle(3000);
        }
        await waitForHttps(vm!, port, minutes(1));
      } catch (err) {
        await reportFailure(vm, err);
      }
    },
  );

  await step('the console screen sets a static management address after an admin sign-in', async () => {
    const screen = vm!;
    // A miss names what the console said since the last answer (CI shows only the error message).
    let answered = 0;
    const answer = async (prompt: RegExp, text: string, from: number) => {
      try {
        await screen.waitForSerial(prompt, minutes(2), from);
      } catch (err) {
        const said = screen.serial.slice(Math.max(from, answered)).replaceAll(password, '<password>');
        throw new Error(`${(err as Error).message}; the console said: ${JSON.stringify(said.slice(-1500))}`, {
          cause: err,
        });
      }
      answered = screen.serial.length;
      screen.typeSerial(text);
    };
    try {
      let from = screen.serial.length;
      screen.typeSerial('n');
      await answer(/Administrator user name: /, 'admin\r', from);
      await answer(/Password: /, 'not-the-password\r', from);
      await answer(/Not changed\. Press Enter/, '\r', from);
      assert.doesNotMatch(screen.serial.slice(from), /Interface \[/, 'a wrong password gets no network settings');

      from = screen.serial.length;
      screen.typeSerial('n');
      await answer(/Administrator user name: /, 'admin\r', from);
      await answer(/Password: /, `${password}\r`, from);
      const nic = (await screen.waitForSerial(/Interface \[([a-z0-9]+)\]: /, minutes(2), from))[1]!;
      screen.typeSerial('\r');
      // QEMU's user network forwards HTTPS to 10.0.2.15: keep that address, now static.
      await answer(/dhcp or static \[dhcp\]: /, 'static\r', from);
      await answer(/Address\/prefix[^:]*: /, '10.0.2.15/24\r', from);
      await answer(/Gateway[^:]*: /, '10.0.2.2\r', from);
      await answer(/DNS server[^:]*: /, '\r', from);
      await answer(new RegExp(`static 10\\.0\\.2\\.15/24 on ${nic} saved[^]*Press Enter to go back`), '\r', from);
      await screen.waitForSerial(/https:\/\/10\.0\.2\.15\/ +\(static\)/, minutes(3), from);
      assert.doesNotMatch(screen.serial.slice(from), new RegExp(password), 'the password is not echoed');
      await waitForHttps(screen, port, minutes(2));
    } catch (err) {
      await reportFailure(vm, err);
    }
  });

  await step('unattended install to a second blank disk (quantix.install_disk=)', async () => {
    try {
      // With the guest running: libvirt-guests gives it an ACPI shutdown, within its bound.
      await vm!.powerdown();
      await vm!.waitForExit(minutes(3));
      await vm!.stop();
      vm = bootAppliance(
        {
          name: 'install',
          workDir,
          iso,
          cmdline: 'quantix.install_disk=/dev/disk/by-id/virtio-qx-target',
          disks: [data, target],
          httpsPort: port,
        },
        bootFiles,
      );
      await vm.waitForExit(minutes(15));
      assert.match(
        vm.serial,
        /quantix-install: installed on \/dev\/vd/,
        'the installer finished (it powers off either way)',
      );
      await vm.stop();
    } catch (err) {
      await reportFailure(vm, err);
    }
  });

  await step('the installed disk boots alone (its GRUB, no ISO) with the admin, pool and VM', async () => {
    try {
      vm = bootAppliance({ name: 'installed', workDir, disks: [target], httpsPort: port });
      const api = await client();
      assert.match(vm.serial, /Quantix-vDC \(serial console ttyS0\)/, "booted through the installed disk's GRUB menu");
      await vm.waitForSerial(/https:\/\/10\.0\.2\.15\/ +\(static\)/, minutes(3));
      const status = await api.expect<{ needsSetup: boolean }>(200, 'GET', '/api/v1/setup/status');
      assert.equal(status.needsSetup, false);
      await api.login('admin', password);
      await localHost(api, minutes(5));
      const pools = await api.expect<PoolDto[]>(200, 'GET', `/api/v1/hosts/${hostId}/pools`);
      assert.ok(
        pools.some((p) => p.name === names.pool),
        `pool ${names.pool} in ${JSON.stringify(pools)}`,
      );
      // The server fills its inventory from the host after it comes online.
      const vm2 = await waitForVm(api, vmId, minutes(3));
      assert.equal(vm2.name, names.vm);
    } catch (err) {
      await reportFailure(vm, err);
    }
  });

  await step(
    'update to N+1 (a signed bundle uploaded in the API): the appliance reboots into slot b with its users, pool and VM, and the autostart VM runs again',
    async () => {
      try {
        let api = await client();
        await api.login('admin', password);
        assert.equal((await waitForVm(api, vmId, minutes(3))).state, 'shutoff', 'shut off with the live system');
        await api.expect<VmDto>(200, 'PUT', `/api/v1/vms/${vmId}/autostart`, {
          enabled: true,
          order: 0,
          delaySeconds: 0,
        });
        await api.expect(201, 'POST', '/api/v1/users', { username: names.user, password, role: 'operator' });
        const before = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
        assert.equal(before.installed, true, JSON.stringify(before));
        assert.equal(before.slot, 'a');
        assert.equal(before.goodSlot, 'a');

        const started = Date.now();
        await uploadBundle(api, (await bundles).next, versions.next);
        await applyBundle(api, 'b');
        // The appliance reboots itself (QEMU restarts in place): the same machine, a new boot.
        api = await onVersion(versions.next, minutes(30));
        const updateSeconds = (Date.now() - started) / 1000;
        const good = await untilValue('slot b marked good', minutes(15), async () => {
          const s = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
          return s.lastAttempt?.result === 'succeeded' ? s : undefined;
        });
        assert.equal(good.slot, 'b');
        assert.equal(good.goodSlot, 'b');
        assert.equal(good.otherSlot?.version, before.version);
        const users = await api.expect<{ username: string }[]>(200, 'GET', '/api/v1/users');
        assert.ok(
          users.some((u) => u.username === names.user),
          'the user made on N is there',
        );
        await localHost(api, minutes(5));
        const pools = await api.expect<PoolDto[]>(200, 'GET', `/api/v1/hosts/${hostId}/pools`);
        assert.ok(
          pools.some((p) => p.name === names.pool),
          `pool ${names.pool} in ${JSON.stringify(pools)}`,
        );
        // The agent starts it once libvirt answers; the server hears of it from the host.
        const deadline = Date.now() + minutes(5);
        let state = '';
        while ((state = (await waitForVm(api, vmId, minutes(3))).state) !== 'running' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 3000));
        }
        assert.equal(state, 'running', 'the autostart VM runs after the update');
        process.stderr.write(
          `update time (upload → API on the new version): ${updateSeconds.toFixed(0)} s\n${vm?.bootTimeline(started) ?? ''}\n`,
        );
      } catch (err) {
        await reportFailure(vm, err);
      }
    },
  );

  await step('a bundle whose server cannot start: the appliance comes back on N+1 by itself', async () => {
    try {
      const api = await client();
      await api.login('admin', password);
      // No guest in these boots: one booting nested under TCG (~4 min here) takes the CPU the boots
      // under test need. A running guest at power-down was seen in the install step.
      await waitTask(api, await api.expect<TaskDto>(202, 'POST', `/api/v1/vms/${vmId}/force-off`), minutes(3));
      await api.expect<VmDto>(200, 'PUT', `/api/v1/vms/${vmId}/autostart`, {
        enabled: false,
        order: 0,
        delaySeconds: 0,
      });
      await uploadBundle(api, (await bundles).broken, versions.broken);
      const started = Date.now();
      await applyBundle(api, 'a');
      // The trial boot's own messages go to tty0, not the serial console: the API tells the outcome,
      // the serial console's boot milestones where it stopped. About 6.5 min on CI; the bound leaves
      // the failure report time within the test's own timeout.
      const back = await untilValue('API back after the rollback', minutes(20), async () => {
        const fresh = new ApplianceClient(port, api.fingerprint);
        await fresh.login('admin', password);
        const s = await fresh.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
        return s.lastAttempt?.result === 'rolled-back' ? s : undefined;
      });
      const rollbackSeconds = (Date.now() - started) / 1000;
      assert.equal(back.version, versions.next);
      assert.equal(back.slot, 'b');
      assert.equal(back.goodSlot, 'b');
      // Its health step gave up on the crashing server and recorded why, with the server's words.
      assert.match(
        back.lastAttempt?.reason ?? '',
        /^its server failed \d+ times; the server said: .*broken on purpose/,
      );
      // The trial boot backed the data up and the rollback restored it: what N+1 knew is all there.
      const after = new ApplianceClient(port, api.fingerprint);
      await after.login('admin', password);
      const users = await after.expect<{ username: string }[]>(200, 'GET', '/api/v1/users');
      assert.ok(
        users.some((u) => u.username === names.user),
        'the user is there after the rollback',
      );
      assert.equal((await waitForVm(after, vmId, minutes(3))).name, names.vm);
      process.stderr.write(
        `rollback time (apply → API back on the previous version): ${rollbackSeconds.toFixed(0)} s\n${vm?.bootTimeline(started) ?? ''}\n`,
      );
    } catch (err) {
      await reportFailure(vm, err);
    }
  });
});
