// The one rule for an NFS backup target (#24), shared by the server (a 400 naming the field), the
// agent (checked again before mount) and the UI: server, export path, NFSv4 version, and extra
// mount options from a short allow-list; plus the mount options the agent always passes.
import { objectNameProblem } from './object-name.js';

export const NFS_VERSIONS = ['4', '4.1', '4.2'] as const;
export type NfsVersion = (typeof NFS_VERSIONS)[number];

/** What a target is made of (the proto NfsTarget and the REST input have the same fields). */
export interface NfsTargetInput {
  name: string;
  server: string;
  exportPath: string;
  version: string;
  options: readonly string[];
}

export interface NfsTargetProblem {
  field: string;
  message: string;
}

/** Options an operator may add, each with the values it accepts (the rest are fixed: see nfsMountOptions). */
const NUMERIC: Record<string, [number, number]> = {
  rsize: [4096, 1048576],
  wsize: [4096, 1048576],
  // Tenths of a second per try and tries: with `soft` they bound how long a dead server holds an I/O.
  timeo: [10, 600],
  retrans: [1, 5],
  port: [1, 65535],
  nconnect: [1, 16],
  actimeo: [0, 3600],
};
const CHOICES: Record<string, readonly string[]> = {
  proto: ['tcp', 'tcp6'],
  sec: ['sys'],
  lookupcache: ['all', 'none', 'positive'],
};
const FLAGS = ['noresvport', 'nocto', 'noac'];
export const NFS_OPTION_HELP =
  'allowed: rsize=, wsize=, timeo=, retrans=, port=, nconnect=, actimeo=, proto=tcp|tcp6, sec=sys, lookupcache=, noresvport, nocto, noac';
export const NFS_MAX_OPTIONS = 12;

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]{2,39}$/;
const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const EXPORT_PATH = /^\/[A-Za-z0-9._+@/-]{0,1023}$/;

function optionProblem(option: string): string | undefined {
  const [key = '', value, extra] = option.split('=');
  if (extra !== undefined) return `"${option}" has more than one "="`;
  if (FLAGS.includes(key)) return value === undefined ? undefined : `"${key}" takes no value`;
  const range = NUMERIC[key];
  if (range) {
    if (value === undefined || !/^\d{1,7}$/.test(value)) return `"${key}" needs a whole number`;
    const n = Number(value);
    return n < range[0] || n > range[1] ? `"${key}" must be ${range[0]}–${range[1]}` : undefined;
  }
  const choices = CHOICES[key];
  if (choices) return value && choices.includes(value) ? undefined : `"${key}" must be one of ${choices.join(', ')}`;
  return `"${option}" is not an allowed option (${NFS_OPTION_HELP})`;
}

/** Every problem of `t`, each naming its field (options[i] for an option); empty when fine. */
export function nfsTargetProblems(t: NfsTargetInput): NfsTargetProblem[] {
  const out: NfsTargetProblem[] = [];
  const name = objectNameProblem(t.name);
  if (name) out.push({ field: 'name', message: name });
  if (!IPV4.test(t.server) && !(t.server.includes(':') && IPV6.test(t.server)) && !HOSTNAME.test(t.server)) {
    out.push({ field: 'server', message: `"${t.server}" is not a host name, IPv4 or IPv6 address` });
  }
  if (!EXPORT_PATH.test(t.exportPath) || t.exportPath.split('/').some((s) => s === '..' || s === '.')) {
    out.push({
      field: 'exportPath',
      message: `"${t.exportPath}" is not an absolute export path (letters, digits, "/ . _ - + @"; no "." or ".." parts)`,
    });
  }
  if (!(NFS_VERSIONS as readonly string[]).includes(t.version)) {
    out.push({
      field: 'version',
      message: `"${t.version}" is not an NFS version this vDC mounts: ${NFS_VERSIONS.join(', ')}`,
    });
  }
  if (t.options.length > NFS_MAX_OPTIONS) {
    out.push({ field: 'options', message: `at most ${NFS_MAX_OPTIONS} options` });
  }
  const seen = new Set<string>();
  t.options.forEach((o, i) => {
    const problem = optionProblem(o);
    const key = o.split('=')[0]!;
    if (problem) out.push({ field: `options[${i}]`, message: problem });
    else if (seen.has(key)) out.push({ field: `options[${i}]`, message: `"${key}" is given twice` });
    seen.add(key);
  });
  return out;
}

/** The mount source: server:/export (an IPv6 address in brackets). */
export function nfsSource(t: Pick<NfsTargetInput, 'server' | 'exportPath'>): string {
  return `${t.server.includes(':') ? `[${t.server}]` : t.server}:${t.exportPath}`;
}

/**
 * The options of `mount -t nfs4` for a valid target: the version; `soft` with a bounded
 * timeo/retrans (about 10 s × 3 tries by default) so a dead server fails an I/O instead of hanging
 * the agent; `retry=0` so an unreachable server fails the mount at once; nosuid,nodev,noexec
 * (a backup target holds files, never programs); then the operator's options.
 */
export function nfsMountOptions(t: Pick<NfsTargetInput, 'version' | 'options'>): string {
  const given = new Map(t.options.map((o) => [o.split('=')[0]!, o] as const));
  const fixed = [`vers=${t.version}`, 'soft', 'retry=0', 'nosuid', 'nodev', 'noexec'];
  const defaults = [given.has('timeo') ? '' : 'timeo=100', given.has('retrans') ? '' : 'retrans=2'].filter(Boolean);
  return [...fixed, ...defaults, ...t.options].join(',');
}
