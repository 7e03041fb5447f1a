// `qx` command line: dispatches to the command modules. Every failure becomes one line on
// stderr ("qx: …") and exit code 1; results go to stdout as JSON.
import { ovaCommand } from './ova-command.js';
import { agentCommand } from './agent-command.js';

const usage = `usage (this host's own files and agent):
  qx ova inspect FILE.ova
  qx ova import FILE.ova --dest DIR [--name PREFIX]
  qx ova export --disk DISK [--disk DISK …] --name NAME --cpus N --memory-mib N
                [--cores-per-socket N] [--firmware bios|efi] [--os-type linux|windows|other]
                [--nic MODEL[:NETWORK[:MAC]] …] --out FILE.ova
  qx ova export --vm NAME [--connect URI] --out FILE.ova
  qx agent status|renew-token|leave [--data-dir DIR]
                the host's vDC membership: leave forgets the vDC CA and makes a new join token`;

async function main(argv: string[]): Promise<void> {
  const [group, ...rest] = argv;
  if (group === 'ova') return ovaCommand(rest);
  if (group === 'agent') return agentCommand(rest);
  if (group === undefined || group === '--help' || group === '-h') {
    process.stdout.write(usage + '\n');
    return;
  }
  throw new Error(`unknown command "${group}" (try: qx --help)`);
}

main(process.argv.slice(2)).then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`qx: ${message.split('\n')[0]}\n`);
    process.exitCode = 1;
  },
);
