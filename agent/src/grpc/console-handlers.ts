// ConsoleService: adapts the bidi gRPC stream (open → data/resize, closed ← data) to a VM's
// shared serial console (console/serial-console.ts), its VNC socket (console/graphics-relay.ts) or
// a host shell (console/host-shell.ts).
// Ending or cancelling the call leaves the session; the session ending ends the call. A caller
// that stops reading is left once MAX_UNSENT bytes wait for it (the agent's memory stays bounded).
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { ConsoleInput, ConsoleOutput, ConsoleServiceServer, TerminalSize } from '@quantix/proto/v1/console.js';
import type { AgentContext } from '../context.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { consoleEndReason, joinSerialConsole, type ConsoleHandle } from '../console/serial-console.js';
import { startHostShell } from '../console/host-shell.js';
import { graphicsSocketPath, joinGraphics } from '../console/graphics-relay.js';
import type { Viewer } from '../console/pty-session.js';
import { vmTarget } from '../vm/vm-lifecycle.js';
import { vmId } from '../vm/vm-read.js';
import { DomainState } from '../libvirt/domain.js';
import { toServiceError } from './status.js';

type Call = ServerDuplexStream<ConsoleInput, ConsoleOutput>;
type Opener = (open: { vm: string; size: TerminalSize | undefined }, viewer: Viewer) => Promise<ConsoleHandle>;

/** Output bytes waiting for a caller that does not read; past this its session is left. */
export const MAX_UNSENT = 8 * 1024 * 1024;

const sizeOf = (s: TerminalSize | undefined) => (s && s.cols && s.rows ? { cols: s.cols, rows: s.rows } : undefined);

/** Runs one console call: the first message must be `open`; then data and resizes. */
function serveTerminal(call: Call, open: Opener, refineReason: (reason: string) => Promise<string>): void {
  let handle: Promise<ConsoleHandle> | undefined;
  let finished = false;
  const finish = (reason: string) => {
    if (finished) return;
    finished = true;
    if (!call.cancelled && !call.writableEnded) {
      call.write({ msg: { $case: 'closed', value: { reason } } });
      call.end();
    }
  };
  const fail = (err: unknown) => {
    if (finished) return;
    finished = true;
    call.emit('error', toServiceError(err));
  };
  let unsent = 0;
  const viewer: Viewer = {
    data: (chunk) => {
      if (finished || call.cancelled) return;
      if (unsent > MAX_UNSENT) return leave('the console output is not being read');
      unsent += chunk.length;
      call.write({ msg: { $case: 'data', value: chunk } }, () => (unsent -= chunk.length));
    },
    closed: (reason) => {
      void refineReason(reason).then(finish);
    },
  };
  const leave = (reason: string) => {
    const h = handle;
    handle = undefined;
    void h?.then((x) => x.leave()).catch(() => undefined);
    finish(reason);
  };
  call.on('data', (msg: ConsoleInput) => {
    const m = msg.msg;
    if (!handle) {
      if (m?.$case !== 'open') return fail(invalidArgument('open', 'the first message must open the console'));
      handle = open({ vm: m.value.vm, size: m.value.size }, viewer);
      handle.catch(fail);
      return;
    }
    if (m?.$case === 'data') void handle.then((h) => h.write(m.value)).catch(() => undefined);
    else if (m?.$case === 'resize')
      void handle.then((h) => h.resize(m.value.cols, m.value.rows)).catch(() => undefined);
  });
  call.on('end', () => leave('closed by client'));
  call.on('cancelled', () => leave('client went away'));
  call.on('error', () => leave('stream error'));
}

/** The VM `id` names, FAILED_PRECONDITION unless it runs (a stopped VM has no `what`). */
async function runningVm(ctx: AgentContext, id: string, what: string) {
  const t = await vmTarget(ctx.virsh, vmId(id, 'open.vm'));
  if (t.state !== DomainState.Running && t.state !== DomainState.Paused && t.state !== DomainState.Blocked) {
    throw failedPrecondition(`VM ${t.name} is not running, so it has no ${what}`);
  }
  return t;
}

export function consoleHandlers(ctx: AgentContext): ConsoleServiceServer {
  return {
    console: (call) => {
      let uuid = '';
      serveTerminal(
        call,
        async (open, viewer) => {
          const t = await runningVm(ctx, open.vm, 'console');
          uuid = t.uuid;
          return joinSerialConsole(ctx.virsh, t.uuid, viewer, sizeOf(open.size));
        },
        (reason) => (reason === 'process exited' ? consoleEndReason(ctx.virsh, uuid) : Promise.resolve(reason)),
      );
    },
    graphics: (call) => {
      let uuid = '';
      serveTerminal(
        call,
        async (open, viewer) => {
          const t = await runningVm(ctx, open.vm, 'graphical console');
          uuid = t.uuid;
          return joinGraphics(await graphicsSocketPath(ctx.virsh, t.uuid, t.name), t.name, viewer);
        },
        async (reason) => ((await consoleEndReason(ctx.virsh, uuid)) === 'vm stopped' ? 'vm stopped' : reason),
      );
    },
    shell: (call) => {
      serveTerminal(
        call,
        async (open, viewer) => {
          const shell = startHostShell(sizeOf(open.size));
          shell.attach(viewer);
          return {
            write: (data) => shell.write(data),
            resize: (cols, rows) => shell.resize(cols, rows),
            leave: () => shell.close('closed by client'),
          };
        },
        (reason) => Promise.resolve(reason === 'process exited' ? 'shell exited' : reason),
      );
    },
  };
}
