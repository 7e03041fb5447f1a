// A/B updates of the appliance (server/src/dto/appliance-update.ts): status, bundle upload or
// download from a URL, apply; other appliance hosts updated with the same bundle (tasks).
// No Lit imports.
import type { ApplianceUpdateDto } from '@dto/appliance-update.js';
import type { TaskDto } from '@dto/tasks.js';
import { apiDelete, apiGet, apiPost, apiRequest } from './client.js';

export type { ApplianceUpdateDto };

export const fetchApplianceUpdate = (signal?: AbortSignal) =>
  apiGet<ApplianceUpdateDto>('/appliance/update', { signal });
/** Sends the bundle file as the raw body; the server verifies it before keeping it. */
export const uploadUpdateBundle = (file: Blob) =>
  apiRequest<ApplianceUpdateDto>('PUT', '/appliance/update/bundle', file);
/** Writes the uploaded bundle into the other slot; the appliance reboots into it. */
export const applyApplianceUpdate = () => apiPost<ApplianceUpdateDto>('/appliance/update/apply');
/** The server fetches the bundle from `url` and verifies it as an upload; progress in status().download. */
export const downloadUpdateBundle = (url: string, caCertificatePem?: string) =>
  apiPost<ApplianceUpdateDto>('/appliance/update/download', caCertificatePem ? { url, caCertificatePem } : { url });
/** Stops a running download, or clears a failed one. */
export const cancelUpdateBundleDownload = () => apiDelete<ApplianceUpdateDto>('/appliance/update/download');
/** Updates one appliance host with the uploaded bundle (maintenance, send, reboot, back): a task. */
export const updateHostSystem = (hostId: string) => apiPost<TaskDto>(`/hosts/${encodeURIComponent(hostId)}/update`);
/** Updates every appliance host behind the uploaded bundle, one at a time: one task. */
export const updateAllHostSystems = () => apiPost<TaskDto>('/appliance/update/hosts');
