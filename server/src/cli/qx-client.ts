// Entry point of the stand-alone `qx.mjs` (one file, any machine with Node): the API commands
// only; the host-local ones (`qx ova inspect`, `qx agent`) are in the appliance's `qx`.
import { REMOTE_USAGE, remoteCommand } from './qx-remote.js';
import { runCli } from './run-cli.js';

runCli(async (argv) => {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`usage:\n${REMOTE_USAGE}\n`);
    return;
  }
  await remoteCommand(argv);
});
