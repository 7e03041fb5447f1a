// Reboot or power off this host: the running VMs first get an ACPI shutdown and a timeout to stop
// (then are forced off), the caller gets the answer, then the power command runs. Autostart VMs
// come back by themselves after a reboot. The command is `systemctl reboot|poweroff`, or
// QX_AGENT_POWER_COMMAND <reboot|poweroff>: tests give a real script that records its call,
// since they cannot power off the machine they run on.
import { PowerAction, type PowerHostRequest, type PowerHostResponse } from '@quantix/proto/v1/host.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { run } from '../exec/run.js';
import type { Virsh } from '../libvirt/virsh.js';
import { log } from '../log.js';

const DEFAULT_TIMEOUT_S = 120;
const MAX_TIMEOUT_S = 3600;
const POLL_MS = 1_000;
/** The answer leaves before the command runs (the host may go down at once). */
const COMMAND_DELAY_MS = 500;

let underWay = false;

const VERB: Partial<Record<PowerAction, string>> = {
  [PowerAction.POWER_ACTION_REBOOT]: 'reboot',
  [PowerAction.POWER_ACTION_POWEROFF]: 'poweroff',
};

async function runningVms(virsh: Virsh): Promise<string[]> {
  return (await virsh.exec(['list', '--state-running', '--state-paused', '--name']))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export async function powerHost(virsh: Virsh, req: PowerHostRequest): Promise<PowerHostResponse> {
  const verb = VERB[req.action];
  if (!verb) throw invalidArgument('action', 'expected reboot or poweroff');
  if (req.vmShutdownTimeoutSeconds > MAX_TIMEOUT_S)
    throw invalidArgument('vm_shutdown_timeout_seconds', `at most ${MAX_TIMEOUT_S}`);
  if (underWay) throw failedPrecondition('a reboot or power-off of this host is already under way');
  underWay = true;
  try {
    const timeoutMs = (req.vmShutdownTimeoutSeconds || DEFAULT_TIMEOUT_S) * 1000;
    const vms = await runningVms(virsh);
    log.info(`host ${verb}: shutting down the running VMs first`, { vms, timeoutMs });
    for (const vm of vms) await virsh.exec(['shutdown', '--', vm]).catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    let left = await runningVms(virsh);
    while (left.some((v) => vms.includes(v)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      left = await runningVms(virsh);
    }
    const forcedOff = vms.filter((v) => left.includes(v));
    for (const vm of forcedOff) await virsh.exec(['destroy', '--', vm]).catch(() => undefined);
    const command = process.env.QX_AGENT_POWER_COMMAND || 'systemctl';
    setTimeout(() => {
      run(command, [verb], { timeoutMs: 30_000 }).then(
        () => log.info(`host ${verb}: ${command} ${verb} ran`),
        (err: Error) => {
          underWay = false;
          log.error(`host ${verb} failed`, { command, error: err.message });
        },
      );
    }, COMMAND_DELAY_MS).unref();
    return { shutDown: vms.filter((v) => !forcedOff.includes(v)), forcedOff };
  } catch (err) {
    underWay = false;
    throw err;
  }
}
