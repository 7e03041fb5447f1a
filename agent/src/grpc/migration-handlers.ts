// MigrationService: the server plans and prepares a live migration and runs it on the source;
// Tunnel is the one method another agent of the vDC may call (client-auth.ts).
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { MigrateOutRequest, MigrateProgress, MigrationServiceServer } from '@quantix/proto/v1/migration.js';
import type { AgentContext } from '../context.js';
import { IncomingMigrations } from '../migration/incoming.js';
import { OutgoingMigrations } from '../migration/outgoing.js';
import { log } from '../log.js';
import { toServiceError } from './status.js';
import { unary } from './unary.js';

export function migrationHandlers(ctx: AgentContext): MigrationServiceServer {
  const incoming = new IncomingMigrations(ctx);
  const outgoing = new OutgoingMigrations(ctx);
  void incoming.recover().catch((err: unknown) => log.warn('migration recovery failed', { err: String(err) }));
  void outgoing.recover().catch(() => undefined);
  return {
    planOutgoing: unary((req) => outgoing.plan(req.vmName)),
    prepareIncoming: unary((req) => incoming.prepare(req)),
    abortIncoming: unary((req) => incoming.abort(req.migrationId)),
    migrateOut: (call: ServerWritableStream<MigrateOutRequest, MigrateProgress>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const send = (p: MigrateProgress) => {
        if (!call.cancelled && !call.writableEnded) call.write(p);
      };
      outgoing.migrate(call.request, send, abort.signal).then(
        (final) => {
          send(final);
          call.end();
        },
        (err: unknown) => call.emit('error', toServiceError(err)),
      );
    },
    tunnel: (call) => incoming.tunnel(call),
  };
}
