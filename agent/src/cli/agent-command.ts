// `qx agent status|renew-token|leave`: the host's own say over its vDC membership (the console
// screen's T and R keys run these). Talks to the running agent through its control socket; with
// the agent stopped it changes the files itself, which the agent reads when it starts.
import { parseArgs } from 'node:util';
import { loadAgentConfig } from '../config.js';
import { JoinToken } from '../identity/join-token.js';
import { VdcMembership } from '../identity/vdc-membership.js';
import { CONTROL_VERBS, callControlSocket, runControlVerb, type ControlVerb } from '../identity/control-socket.js';

export async function agentCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' } },
  });
  const verb = positionals[0];
  if (positionals.length !== 1 || !CONTROL_VERBS.includes(verb as ControlVerb)) {
    throw new Error(`qx agent: expected one of ${CONTROL_VERBS.join(', ')}, got "${positionals.join(' ')}"`);
  }
  const env = values['data-dir'] ? { ...process.env, QX_AGENT_DATA_DIR: values['data-dir'] } : process.env;
  const config = loadAgentConfig(env);
  const status =
    (await callControlSocket(config.dataDir, verb as ControlVerb)) ??
    (await runControlVerb(
      await VdcMembership.load(config.dataDir, new JoinToken(config.joinTokenFile, config.joinTokenLifetimeMs)),
      verb as ControlVerb,
    ));
  process.stdout.write(JSON.stringify(status, null, 2) + '\n');
}
