// Routes: templates (opening an OVA upload, deploy).
import type { DeployTemplateDto, OvaUploadDto } from '../dto/templates.js';
import type { Services } from '../compose.js';
import type { Handlers } from './handler.js';

export function templateHandlers(s: Services): Handlers {
  return {
    listTemplates: () => s.templates.list(),
    getTemplate: ({ params }) => s.templates.get(params.id!),
    openOvaImport: ({ body, principal }) => s.templates.openImport(body as OvaUploadDto, principal),
    updateTemplate: ({ params, body }) =>
      s.templates.update(params.id!, body as { name?: string; description?: string }),
    deleteTemplate: ({ params, query }) => s.templates.remove(params.id!, query.keepVolumes === 'true'),
    deployTemplate: ({ params, body, principal }) =>
      s.templates.deploy(params.id!, body as DeployTemplateDto, principal.label),
  };
}
