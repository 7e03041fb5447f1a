// The vDC API side of `qx`: login/logout, vm, host, task and `ova import --host` through the
// server. `--json` anywhere on the line switches any command's result to JSON.
import { ApiConnection } from './api-connection.js';
import { loadCredentials } from './credentials.js';
import { loginCommand, logoutCommand } from './login-command.js';
import { Output } from './output.js';
import { VM_USAGE, vmCommand } from './vm-commands.js';
import { HOST_USAGE, hostCommand } from './host-commands.js';
import { TASK_USAGE, taskCommand } from './task-commands.js';
import { OVA_REMOTE_USAGE, ovaUploadCommand } from './ova-upload-command.js';
import { runCli } from './run-cli.js';

export const REMOTE_USAGE = `  qx login https://<appliance> (--token SECRET | --user NAME [--password-stdin]) [--fingerprint SHA256]
  qx logout
${VM_USAGE}
${HOST_USAGE}
${TASK_USAGE}
${OVA_REMOTE_USAGE}
  --json on any of these prints the result as JSON`;

/** Whether `argv` is a command of the vDC API (else a local one: `qx ova inspect`, `qx agent`). */
export function isRemoteCommand(argv: string[]): boolean {
  const [group] = argv;
  if (group === 'ova') return argv[1] === 'import' && argv.some((a) => a === '--host' || a.startsWith('--host='));
  return ['login', 'logout', 'vm', 'host', 'task'].includes(group ?? '');
}

export async function remoteCommand(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const out = new Output(json);
  const [group, ...rest] = args;
  if (group === 'login') return loginCommand(rest, out);
  if (group === 'logout') return logoutCommand(rest, out);
  const api = new ApiConnection(await loadCredentials());
  if (group === 'vm') return vmCommand(api, rest, out);
  if (group === 'host') return hostCommand(api, rest, out);
  if (group === 'task') return taskCommand(api, rest, out);
  if (group === 'ova') return ovaUploadCommand(api, rest.slice(1), out);
  throw new Error(`unknown command "${group ?? ''}"; usage:\n${REMOTE_USAGE}`);
}

/** Runs an API command as the whole process (exit code and error line included). */
export function runRemoteCommand(argv: string[]): void {
  runCli(remoteCommand, argv);
}
