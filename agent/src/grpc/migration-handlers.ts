// MigrationService: the server plans and prepares a live migration and runs it on the source;
// Tunnel is the one method another agent of the vDC may call (client-auth.ts).
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { MigrateOutRequest, MigrateProgress, MigrationServiceServer } from '@quantix/proto/v1/migration.js';
import type { AgentContext } from '../context.js';
import { IncomingMigrations } from '../migration/incoming.js';
import { OutgoingMigrations } from '../migration/outgoing.js';
import { OutgoingJobs } from '../migration/outgoing-jobs.js';
import { log } from '../log.js';
import { toServiceError } from './status.js';
import { unary } from './unary.js';

export function migrationHandlers(ctx: AgentContext): MigrationServiceServer {
  const incoming = new IncomingMigrations(ctx);
  const outgoing = new OutgoingMigrations(ctx);
  const jobs = new OutgoingJobs();
  void incoming.recover().catch((err: unknown) => log.warn('migration recovery failed', { err: String(err) }));
  void outgoing.recover().catch(() => undefined);
  return {
    planOutgoing: unary((req) => outgoing.plan(req.vmName)),
    prepareIncoming: unary((req) => incoming.prepare(req)),
    abortIncoming: unary((req) => incoming.abort(req.migrationId)),
    migrateOut: (call: ServerWritableStream<MigrateOutRequest, MigrateProgress>) => {
      const send = (p: MigrateProgress) => {
        if (!call.cancelled && !call.writableEnded) call.write(p);
      };
      let job;
      try {
        job = jobs.start(call.request.migrationId, (onProgress, signal) =>
          outgoing.migrate(call.request, onProgress, signal),
        );
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      // The job does not depend on this call: a dropped connection leaves it running.
      job.listeners.add(send);
      const detach = () => job.listeners.delete(send);
      call.on('cancelled', detach);
      job.ended.then(
        (final) => {
          detach();
          send(final);
          if (!call.cancelled) call.end();
        },
        (err: unknown) => {
          detach();
          if (!call.cancelled) call.emit('error', toServiceError(err));
        },
      );
    },
    getOutgoing: unary(async (req) => jobs.status(req.migrationId)),
    cancelOutgoing: unary(async (req) => jobs.cancel(req.migrationId)),
    tunnel: (call) => incoming.tunnel(call),
  };
}
