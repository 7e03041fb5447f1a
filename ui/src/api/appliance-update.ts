// A/B updates of the appliance (server/src/dto/appliance-update.ts): status, bundle upload or
// download from a URL, apply; other appliance hosts updated with the same bundle (tasks).
// No Lit imports.
import type { ApplianceUpdateDto, HostUpdatePlanDto } from '@dto/appliance-update.js';
import type { TaskDto } from '@dto/tasks.js';
import { apiDelete, apiGet, apiPost, apiRequest } from './client.js';

export type { ApplianceUpdateDto, HostUpdatePlanDto };

export const fetchApplianceUpdate = (signal?: AbortSignal) =>
  apiGet<ApplianceUpdateDto>('/appliance/update', { signal });
/** Sends the bundle file as the raw body; the server verifies it before keeping it. */
export const uploadUpdateBundle = (file: Blob) =>
  apiRequest<ApplianceUpdateDto>('PUT', '/appliance/update/bundle', file);
/** Whether an older bundle may be installed (refused otherwise, 409 naming both versions). */
export interface UpdateOptions {
  allowDowngrade?: boolean;
}

/** Writes the uploaded bundle into the other slot; the appliance reboots into it. */
export const applyApplianceUpdate = (options: UpdateOptions = {}) =>
  apiPost<ApplianceUpdateDto>('/appliance/update/apply', options);
/** The server fetches the bundle from `url` and verifies it as an upload; progress in status().download. */
export const downloadUpdateBundle = (url: string, caCertificatePem?: string) =>
  apiPost<ApplianceUpdateDto>('/appliance/update/download', caCertificatePem ? { url, caCertificatePem } : { url });
/** Stops a running download, or clears a failed one. */
export const cancelUpdateBundleDownload = () => apiDelete<ApplianceUpdateDto>('/appliance/update/download');
/** Updates one appliance host with the uploaded bundle (maintenance, send, reboot, back): a task. */
export const updateHostSystem = (hostId: string, options: UpdateOptions = {}) =>
  apiPost<TaskDto>(`/hosts/${encodeURIComponent(hostId)}/update`, options);
/** What "update all hosts" would do with the uploaded bundle: each host updated, or skipped and why. */
export const fetchHostUpdatePlan = (signal?: AbortSignal) =>
  apiGet<HostUpdatePlanDto>('/appliance/update/hosts', { signal });
/** Updates every appliance host older than the uploaded bundle, one at a time (never a downgrade): one task. */
export const updateAllHostSystems = () => apiPost<TaskDto>('/appliance/update/hosts');
