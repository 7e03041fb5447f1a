// A process named so that its pid, once reused by another process, no longer matches: the pid
// and its start time. Records left by an agent process (a backup's overlays, a frozen guest) say
// whose they are; an agent starting up takes over those whose process is gone.
import { readFile } from 'node:fs/promises';

export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat's start time: a pid reused by another process does not match. */
  start: string | undefined;
}

/** Process `pid`'s start time in clock ticks since boot (/proc/<pid>/stat field 22); undefined once it is gone. */
export async function processStart(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // Field 2, the command name, may hold spaces and parentheses: count from after its last ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

export async function thisProcess(): Promise<ProcessIdentity> {
  return { pid: process.pid, start: await processStart(process.pid) };
}

/** Whether `p` names a process other than this one that still runs (not a dead one, nor a reused pid). */
export async function isOtherLiveProcess(p: ProcessIdentity): Promise<boolean> {
  if (p.pid === process.pid || !p.start) return false;
  return (await processStart(p.pid)) === p.start;
}

/** The identity in a record's text; undefined when there is none or it was cut short. */
export function parseIdentity(text: string | undefined): ProcessIdentity | undefined {
  try {
    const o = JSON.parse(text ?? '') as Partial<ProcessIdentity>;
    return typeof o.pid === 'number'
      ? { pid: o.pid, start: typeof o.start === 'string' ? o.start : undefined }
      : undefined;
  } catch {
    return undefined;
  }
}
