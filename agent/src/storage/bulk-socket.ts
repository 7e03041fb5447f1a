// The agent's private bulk socket (#26): the server on this host sends upload bytes here as they are,
// without gRPC framing or TLS. A connection first presents a 32-byte ticket; the UploadVolumeLocal
// call that carries the same ticket (over the local gRPC socket) takes it. Whoever arrives first
// waits, bounded. Same owner and mode rules as the local gRPC socket (private-socket.ts).
import { createServer, type Server, type Socket } from 'node:net';
import { noteBulkBytes } from '@quantix/proto/bulk/transfer-gc.js';
import { preparePrivateSocket, restrictPrivateSocket } from '@quantix/proto/fs/private-socket.js';
import { AgentError, ErrorCode } from '../errors.js';

export const TICKET_BYTES = 32;
/** How long a ticket waits for its other half (the call or the connection). */
const RENDEZVOUS_MS = 30_000;
/** Connections waiting for their call at most (only the local server can connect at all). */
const MAX_WAITING = 16;
/** How long a claimed connection may stay silent. */
const IDLE_MS = 120_000;

interface Waiting {
  socket?: Socket;
  take?: (s: Socket) => void;
  timer: NodeJS.Timeout;
}

const waiting = new Map<string, Waiting>();

/** Listens on `path` (0600 in a 0700 directory); connections are matched to calls by ticket. */
export async function listenBulkSocket(path: string): Promise<Server> {
  await preparePrivateSocket(path);
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    readTicket(socket).then(
      (ticket) => arrive(ticket, socket),
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await restrictPrivateSocket(path);
  return server;
}

/** The connection that presents `ticket` (waits up to 30 s for it; the signal gives up early). */
export function claimBulkConnection(ticket: Buffer, signal: AbortSignal): Promise<Socket> {
  if (ticket.length !== TICKET_BYTES) throw new AgentError(ErrorCode.InvalidArgument, 'must be 32 bytes', 'ticket');
  const key = ticket.toString('hex');
  const here = waiting.get(key);
  if (here?.socket) {
    clearTimeout(here.timer);
    waiting.delete(key);
    return Promise.resolve(here.socket);
  }
  if (here) throw new AgentError(ErrorCode.AlreadyExists, 'this ticket is already being claimed', 'ticket');
  return new Promise<Socket>((resolve, reject) => {
    const give = (why: string) => {
      waiting.delete(key);
      reject(new AgentError(ErrorCode.FailedPrecondition, why, 'ticket'));
    };
    const timer = setTimeout(() => give('no bulk connection presented this ticket within 30 s'), RENDEZVOUS_MS);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      if (waiting.get(key)?.take) give('the call was cancelled');
    });
    waiting.set(key, {
      timer,
      take: (s) => {
        clearTimeout(timer);
        waiting.delete(key);
        resolve(s);
      },
    });
  });
}

/**
 * The bytes of a local call (UploadVolumeLocal, ImportOvaLocal): the connection that presents
 * `ticket`, destroyed when the call is cancelled or it sends nothing for 2 minutes, so a sender that
 * goes silent does not hold a temp file forever. The caller destroys it when done.
 */
export async function claimBulkBytes(ticket: Buffer, signal: AbortSignal, what: string): Promise<Socket> {
  const socket = await claimBulkConnection(ticket, signal);
  const cancelled = () => socket.destroy(new Error(`the ${what} call was cancelled`));
  if (signal.aborted) cancelled();
  else signal.addEventListener('abort', cancelled, { once: true });
  socket.once('close', () => signal.removeEventListener('abort', cancelled));
  // Counted for the transfer GC (transfer-gc.ts) as gRPC's bulk messages are. readTicket() paused
  // the socket, so this listener does not start the flow: the consumer's pipe or read() does.
  socket.on('data', (chunk: Buffer) => noteBulkBytes(chunk.length));
  socket.setTimeout(IDLE_MS, () => socket.destroy(new Error(`no ${what} bytes for ${IDLE_MS / 1000} s`)));
  return socket;
}

function arrive(key: string, socket: Socket): void {
  const here = waiting.get(key);
  if (here?.take) return here.take(socket);
  if (here || waiting.size >= MAX_WAITING) return void socket.destroy();
  const timer = setTimeout(() => {
    waiting.delete(key);
    socket.destroy();
  }, RENDEZVOUS_MS);
  waiting.set(key, { socket, timer });
  socket.once('close', () => {
    if (waiting.get(key)?.socket === socket) {
      clearTimeout(timer);
      waiting.delete(key);
    }
  });
}

/** The first TICKET_BYTES of the connection; what follows is put back and the socket left paused. */
function readTicket(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('no ticket')), RENDEZVOUS_MS);
    const stop = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
    };
    const fail = (err: Error) => {
      stop();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < TICKET_BYTES) return;
      stop();
      if (got.length > TICKET_BYTES) socket.unshift(got.subarray(TICKET_BYTES));
      resolve(got.subarray(0, TICKET_BYTES).toString('hex'));
    };
    const onEnd = () => fail(new Error('closed before its ticket'));
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', fail);
    socket.resume(); // accepted paused (pauseOnConnect): a 'data' listener alone does not start it
  });
}
