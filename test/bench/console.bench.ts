// Console benchmark: keystroke echo round trip and bulk output throughput of the test guest's
// serial console through the agent's gRPC ConsoleService (mTLS) vs directly through
// `virsh console` under node-pty — same guest, same run, alternating rounds. Prints both and
// the ratios (targets: round trip ≤ 1.3× direct, throughput ≥ 0.8× direct).
import { spawn } from 'node-pty';
import { VmState } from '@quantix/proto/v1/vm.js';
import type { ConsoleOutput } from '@quantix/proto/v1/console.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { run } from '../../agent/src/exec/run.js';
import { createGuestPool, testName } from '../vm/guest-pool.js';
import { guestSpec } from '../vm/vm-spec.js';
import { testGuest } from '../guest/fixture.js';

const KEYSTROKES = 40;
const BULK_LINES = 20_000;
const ROUNDS = 3;

interface Transport {
  /** Resolves once the pty is in raw mode (direct path only). */
  raw(): Promise<void>;
  write(text: string): void;
  output(): string;
  onChange(cb: () => void): void;
  close(): Promise<void>;
}

function waitFor(t: Transport, text: string, from: number, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms`)), timeoutMs);
    const check = () => {
      const at = t.output().indexOf(text, from);
      if (at >= 0) {
        clearTimeout(timer);
        resolve(at + text.length);
        return true;
      }
      return false;
    };
    if (!check()) t.onChange(check);
  });
}

function listeners(): { fire(): void; add(cb: () => boolean | void): void } {
  let cbs: (() => boolean | void)[] = [];
  return {
    fire: () => {
      cbs = cbs.filter((cb) => cb() !== true);
    },
    add: (cb) => cbs.push(cb),
  };
}

function directTransport(uri: string, uuid: string): Transport {
  let out = '';
  const l = listeners();
  const pty = spawn('virsh', ['-c', uri, 'console', '--force', uuid], {
    name: 'xterm-256color',
    cols: 80,
    rows: 24,
    env: { ...process.env, LC_ALL: 'C' } as Record<string, string>,
  });
  pty.onData((d) => {
    out += d;
    l.fire();
  });
  const pts = (pty as unknown as { ptsName: string }).ptsName;
  return {
    raw: async () => {
      for (let i = 0; i < 250; i++) {
        const { stdout } = await run('stty', ['-F', pts, '-a']);
        if (/(^|\s)-icanon(\s|$)/.test(stdout)) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('virsh console never made its terminal raw');
    },
    write: (text) => pty.write(text),
    output: () => out,
    onChange: l.add,
    close: () =>
      new Promise((resolve) => {
        // Ctrl-] detaches virsh console; SIGKILL if it does not leave.
        const force = setTimeout(() => process.kill(pty.pid, 'SIGKILL'), 2_000);
        pty.onExit(() => {
          clearTimeout(force);
          resolve();
        });
        pty.write('\x1d');
      }),
  };
}

function agentTransport(agent: Awaited<ReturnType<typeof startTestAgent>>, uuid: string): Transport {
  let out = '';
  const l = listeners();
  const call = agent.clients.console.console();
  call.on('data', (m: ConsoleOutput) => {
    if (m.msg?.$case === 'data') {
      out += m.msg.value.toString('utf8');
      l.fire();
    }
  });
  const ended = new Promise<void>((resolve) => {
    call.on('end', () => resolve());
    call.on('error', () => resolve());
  });
  call.write({ msg: { $case: 'open', value: { vm: uuid, size: { cols: 80, rows: 24 } } } });
  return {
    raw: () => Promise.resolve(),
    write: (text) => call.write({ msg: { $case: 'data', value: Buffer.from(text) } }),
    output: () => out,
    onChange: l.add,
    close: async () => {
      call.end();
      await ended;
    },
  };
}

/** Connected and answering: a line comes back as its echo. */
async function ready(t: Transport, tag: string, direct: boolean): Promise<void> {
  // Typed input before virsh has connected and made its terminal raw is lost; the agent
  // holds input back until then itself, the direct path has to wait here.
  if (direct) {
    await waitFor(t, 'Escape character is', 0, 30_000);
    await t.raw();
  }
  const from = t.output().length;
  t.write(`ready-${tag}\r`);
  await waitFor(t, `${testGuest.echoPrefix}ready-${tag}`, from, 60_000);
}

/** Median keystroke echo round trip in ms (one character typed, the guest tty echoes it). */
async function keystrokeRoundTrip(t: Transport): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < KEYSTROKES; i++) {
    const ch = String.fromCharCode(97 + (i % 26));
    const from = t.output().length;
    const start = performance.now();
    t.write(ch);
    await waitFor(t, ch, from, 20_000);
    times.push(performance.now() - start);
  }
  const from = t.output().length;
  t.write('\r');
  await waitFor(t, testGuest.echoPrefix, from);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Bulk output throughput in KiB/s: `qx-run seq 1 N` until its done line. */
async function bulkThroughput(t: Transport): Promise<number> {
  const from = t.output().length;
  const start = performance.now();
  t.write(`${testGuest.runPrefix}seq 1 ${BULK_LINES}\r`);
  const end = await waitFor(t, `${testGuest.runDone}0`, from, 300_000);
  const seconds = (performance.now() - start) / 1000;
  const bytes = Buffer.byteLength(t.output().slice(from, end));
  return bytes / 1024 / seconds;
}

const progress = (msg: string) => process.stderr.write(`console bench: ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const virsh = new Virsh('qemu:///system');
const agent = await startTestAgent();
const pool = await createGuestPool(virsh);
const name = testName('bench');
const cleanup = async () => {
  await virsh.exec(['destroy', name]).catch(() => undefined);
  await virsh.exec(['undefine', '--nvram', name]).catch(() => undefined);
  await agent.stop();
  await pool.remove();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(1)));
try {
  const volume = await pool.addGuestDisk(`${name}.qcow2`);
  const vm = agent.clients.vm;
  const defined = await promisify(vm, vm.defineVm)({ spec: guestSpec(name, pool.name, volume) });
  const uuid = defined.spec!.uuid;
  progress(`defined ${name}; starting it`);
  const started = await promisify(vm, vm.startVm)({ id: uuid });
  if (started.state !== VmState.VM_STATE_RUNNING) throw new Error('the bench guest did not start');
  {
    const boot = agentTransport(agent, uuid);
    progress('waiting for the guest banner');
    await waitFor(boot, testGuest.banner, 0, 180_000);
    await boot.close();
  }
  const results = {
    direct: { rtt: [] as number[], kibs: [] as number[] },
    agent: { rtt: [] as number[], kibs: [] as number[] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['direct', 'agent'] as const) {
      progress(`round ${round + 1}/${ROUNDS}: ${kind}`);
      const t = kind === 'direct' ? directTransport(virsh.uri, uuid) : agentTransport(agent, uuid);
      try {
        await ready(t, `${kind}${round}`, kind === 'direct');
        results[kind].rtt.push(await keystrokeRoundTrip(t));
        results[kind].kibs.push(await bulkThroughput(t));
      } catch (err) {
        throw new Error(
          `${kind} round ${round}: ${(err as Error).message}; last output ${JSON.stringify(t.output().slice(-300))}`,
          {
            cause: err,
          },
        );
      } finally {
        await t.close();
      }
    }
  }
  const d = { rtt: median(results.direct.rtt), kibs: median(results.direct.kibs) };
  const a = { rtt: median(results.agent.rtt), kibs: median(results.agent.kibs) };
  const rttRatio = a.rtt / d.rtt;
  const tputRatio = a.kibs / d.kibs;
  console.log(
    `console keystroke echo round trip (median of ${ROUNDS}×${KEYSTROKES}): direct ${d.rtt.toFixed(2)} ms, agent gRPC ${a.rtt.toFixed(2)} ms, ratio ${rttRatio.toFixed(2)}× (target ≤ 1.30×) ${rttRatio <= 1.3 ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `console bulk output (seq 1 ${BULK_LINES}, median of ${ROUNDS}): direct ${d.kibs.toFixed(0)} KiB/s, agent gRPC ${a.kibs.toFixed(0)} KiB/s, ratio ${tputRatio.toFixed(2)}× (target ≥ 0.80×) ${tputRatio >= 0.8 ? 'OK' : 'MISSED'}`,
  );
  console.log(`raw: ${JSON.stringify(results)}`);
} catch (err) {
  console.error(`console bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
process.exit();
