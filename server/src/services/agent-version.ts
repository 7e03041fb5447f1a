// Which agent versions this vDC works with. Hosts are updated one at a time after the vDC itself,
// so an agent of the same major version and one minor version behind keeps working (flagged as
// older); anything else — another major, older still, or newer than the vDC — is unsupported:
// shown on the host and never chosen by placement, until its agent is updated.
import { compareVersions as compare, parseVersion as parse } from '@quantix/proto/appliance/version.js';
import type { HostDto } from '../dto/hosts.js';

export type AgentVersionStatus = HostDto['agentVersionStatus'];

/** How agent version `agent` stands against this vDC's `server` version, in words for the host page. */
export function agentVersionStatus(server: string, agent: string): { status: AgentVersionStatus; message: string } {
  if (!server) return { status: 'unknown', message: '' };
  if (!agent) return { status: 'unknown', message: 'the agent has not reported its version yet' };
  const s = parse(server);
  const a = parse(agent);
  const range = s ? `${s.major}.${Math.max(0, s.minor - 1)}.0 to ${server}` : server;
  if (!s || !a) return { status: 'unsupported', message: `agent version "${agent}" is not a version this vDC knows` };
  if (compare(a, s) > 0) {
    return {
      status: 'unsupported',
      message: `agent ${agent} is newer than this vDC (${server}): update the vDC first`,
    };
  }
  if (a.major === s.major && a.minor === s.minor) return { status: 'current', message: '' };
  if (a.major === s.major && a.minor === s.minor - 1) {
    return { status: 'older', message: `agent ${agent} is older than this vDC (${server}): update this host` };
  }
  return { status: 'unsupported', message: `agent ${agent} is outside the versions this vDC supports (${range})` };
}
