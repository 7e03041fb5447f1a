#!/usr/bin/env node
// `qx` entry point. Commands of the vDC API (login, vm, host, task, `ova import --host`) run the
// server workspace's client; host-local ones (ova inspect/import/export, agent) the agent's CLI.
// Each runs from dist/ when built, else from its TypeScript source via tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

async function load(workspace, module) {
  const built = fileURLToPath(new URL(`../../${workspace}/dist/${module}.js`, import.meta.url));
  if (existsSync(built)) return import(pathToFileURL(built).href);
  const source = new URL(`../../${workspace}/src/${module}.ts`, import.meta.url);
  if (!existsSync(fileURLToPath(source))) return undefined;
  const { register } = await import('tsx/esm/api');
  register();
  return import(source.href);
}

const argv = process.argv.slice(2);
const remote = await load('server', 'cli/qx-remote');
if (remote?.isRemoteCommand(argv)) {
  remote.runRemoteCommand(argv);
} else {
  if (remote && (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h')) {
    process.stdout.write(`usage (the vDC API, after qx login):\n${remote.REMOTE_USAGE}\n`);
  }
  await load('agent', 'cli/qx');
}
