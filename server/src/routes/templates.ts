// Routes: templates (opening an OVA upload, deploy).
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { templateOperations } from '../dto/templates.js';

export function templateHandlers(s: Services): HandlersOf<typeof templateOperations> {
  return {
    listTemplates: () => s.templates.list(),
    getTemplate: ({ params }) => s.templates.get(params.id),
    openOvaImport: ({ body, principal }) => s.templates.openImport(body, principal),
    updateTemplate: ({ params, body }) => s.templates.update(params.id, body),
    deleteTemplate: ({ params, query }) => s.templates.remove(params.id, query.keepVolumes === 'true'),
    deployTemplate: ({ params, body, principal }) => s.templates.deploy(params.id, body, principal.label),
  };
}
