// Image library: OVA templates (import streamed to a host, a task "ova.import" reports the
// conversion), deploy. ISOs are volumes of format "iso" (see storage.ts). No Lit imports.
import type { DeployTemplateDto, TemplateDto } from '@dto/templates.js';
import type { TaskDto } from '@dto/tasks.js';
import { apiGet, apiPost, apiPatch, apiDelete } from './client.js';
import { uploadFile, type UploadOptions } from './upload.js';

export const fetchTemplates = (signal?: AbortSignal) => apiGet<TemplateDto[]>('/templates', { signal });
/** Renames a template or changes its description. */
export const updateTemplate = (id: string, patch: { name?: string; description?: string }) =>
  apiPatch<TemplateDto>(`/templates/${encodeURIComponent(id)}`, patch);
export const deleteTemplate = (id: string) => apiDelete<void>(`/templates/${encodeURIComponent(id)}`);

/** Streams an OVA to a host's pool; resolves with the template once converted (the task "ova.import"). */
export async function uploadOva(
  req: { hostId: string; pool: string; file: File; name?: string },
  opts?: UploadOptions,
): Promise<TemplateDto> {
  const open = { hostId: req.hostId, pool: req.pool, fileName: req.file.name, ...(req.name ? { name: req.name } : {}) };
  const task = await uploadFile('/templates/uploads', open, req.file, opts);
  return apiGet<TemplateDto>(`/templates/${encodeURIComponent((task.result as { templateId: string }).templateId)}`);
}

/**
 * Creates a VM from a template (its NICs get new MACs; omitted sockets, cores per socket and memory
 * are the template's); the task result carries `{vmId}`.
 */
export const deployTemplate = (id: string, req: DeployTemplateDto) =>
  apiPost<TaskDto>(`/templates/${encodeURIComponent(id)}/deploy`, req);
