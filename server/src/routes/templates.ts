// Routes: templates (OVA import streamed to the host, deploy).
import type { DeployTemplateDto } from '../dto/templates.js';
import type { Services } from '../compose.js';
import type { Handlers } from './handler.js';
import { requireLength } from './upload-length.js';

export function templateHandlers(s: Services): Handlers {
  return {
    listTemplates: () => s.templates.list(),
    getTemplate: ({ params }) => s.templates.get(params.id!),
    importOva: ({ query, ctx, principal }) =>
      s.templates.importOva(
        { hostId: query.hostId!, pool: query.pool!, name: query.name, fileName: query.fileName },
        requireLength(ctx),
        ctx.req,
        principal.label,
      ),
    updateTemplate: ({ params, body }) => s.templates.update(params.id!, body as { name?: string; description?: string }),
    deleteTemplate: ({ params, query }) => s.templates.remove(params.id!, query.keepVolumes === 'true'),
    deployTemplate: ({ params, body, principal }) => s.templates.deploy(params.id!, body as DeployTemplateDto, principal.label),
  };
}
