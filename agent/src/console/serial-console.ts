// VM serial consoles: one `virsh console --force <uuid>` under node-pty per VM, SHARED by every
// viewer of that VM (all see the same output, all may type; the last resize wins). The pty is
// closed when the last viewer leaves; when it ends by itself (VM stopped, or another client
// took the console over with --force), every viewer is told why. A viewer first gets the end of
// the VM's serial log (console-log.ts), so it sees what was printed before it attached.
import { consoleLogPath, readConsoleTail } from './console-log.js';
import { PtySession, type Viewer } from './pty-session.js';
import { DomainState, domainState } from '../libvirt/domain.js';
import type { Virsh } from '../libvirt/virsh.js';

export interface ConsoleHandle {
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Leaves the console; closes the pty when this was the last viewer. */
  leave(): Promise<void>;
}

const sessions = new Map<string, PtySession>();
/** The last line virsh prints once the console is connected (LC_ALL=C keeps it in English). */
const CONNECTED = 'Escape character is ^] (Ctrl + ])\r\n';

/** Joins (or starts) the console of VM `uuid`. The caller checked that the VM runs. */
export function joinSerialConsole(
  virsh: Virsh,
  uuid: string,
  viewer: Viewer,
  size?: { cols: number; rows: number },
): ConsoleHandle {
  const key = `${virsh.uri} ${uuid}`;
  let session = sessions.get(key);
  if (!session || session.closed) {
    const s = new PtySession('virsh', ['-c', virsh.uri, 'console', '--force', uuid], {
      ...(size ? { cols: size.cols, rows: size.rows } : {}),
      env: { ...process.env, LC_ALL: 'C' },
      readyMarker: CONNECTED,
      detachInput: '\x1d',
      backlog: () => readConsoleTail(consoleLogPath(virsh.uri, uuid)),
    });
    sessions.set(key, s);
    s.onClose = () => {
      if (sessions.get(key) === s) sessions.delete(key);
    };
    session = s;
  } else if (size) {
    session.resize(size.cols, size.rows);
  }
  const s = session;
  s.attach(viewer);
  return {
    write: (data) => s.write(data),
    resize: (cols, rows) => s.resize(cols, rows),
    async leave() {
      s.detach(viewer);
      if (s.viewerCount === 0) await s.close('closed by client');
    },
  };
}

/** Why a console ended by itself: the VM stopped, or somebody else took it over. */
export async function consoleEndReason(virsh: Virsh, uuid: string): Promise<string> {
  const state = await domainState(virsh, uuid).catch(() => DomainState.Shutoff);
  return state === DomainState.Running || state === DomainState.Paused || state === DomainState.Blocked
    ? 'taken over by another console client'
    : 'vm stopped';
}
