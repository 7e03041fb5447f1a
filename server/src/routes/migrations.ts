// Routes: moving a VM (live, cold, storage) and cancelling a task.
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { migrationOperations } from '../dto/migrations.js';

export function migrationHandlers(s: Services): HandlersOf<typeof migrationOperations> {
  return {
    migrateVm: ({ params, body, principal }) => s.migrations.migrate(params.id, body, principal.label),
    getMigrationTargets: ({ params }) => s.migrations.targets(params.id),
    cancelTask: ({ params, principal }) => s.tasks.cancel(params.id, principal.label),
  };
}
