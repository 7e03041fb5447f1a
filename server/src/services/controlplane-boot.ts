// `quantix.controlplane=` on the kernel command line (or QX_CONTROLPLANE): an appliance that forms
// or joins a control plane unattended at its first start, through the same steps as the API
// (controlplane-service.ts). Pure parsing here; main.ts runs it once the server listens.
//   quantix.controlplane=form[,name=<member>][,address=<its address>]
//   quantix.controlplane=join,server=<host[:port]>,fingerprint=<SHA-256>,token=<one-time token>[,name=…][,address=…]
import type { FormControlPlaneDto, JoinControlPlaneDto } from '../dto/controlplane.js';

export type BootControlPlane = { kind: 'form'; req: FormControlPlaneDto } | { kind: 'join'; req: JoinControlPlaneDto };

const KEYS = { form: ['name', 'address'], join: ['name', 'address', 'server', 'fingerprint', 'token'] } as const;

/** The setting parsed; throws naming quantix.controlplane and what is wrong. */
export function parseBootControlPlane(value: string): BootControlPlane {
  const [kind, ...parts] = value.split(',');
  const bad = (why: string) => new Error(`quantix.controlplane: ${why} (got "${value}")`);
  if (kind !== 'form' && kind !== 'join') throw bad('expected form or join first');
  const o: Record<string, string> = {};
  for (const p of parts) {
    const at = p.indexOf('=');
    const k = p.slice(0, at);
    if (at < 1 || !(KEYS[kind] as readonly string[]).includes(k)) throw bad(`unexpected "${p}"`);
    o[k] = p.slice(at + 1);
  }
  const member = {
    ...(o.name ? { memberName: o.name } : {}),
    ...(o.address ? { memberAddress: o.address } : {}),
  };
  if (kind === 'form') return { kind, req: member };
  for (const k of ['server', 'fingerprint', 'token'] as const) if (!o[k]) throw bad(`join needs ${k}=`);
  return { kind, req: { ...member, address: o.server!, fingerprint: o.fingerprint!, token: o.token! } };
}
