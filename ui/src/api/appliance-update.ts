// A/B updates of the appliance (server/src/dto/appliance-update.ts): status, bundle upload, apply.
// No Lit imports.
import type { ApplianceUpdateDto } from '@dto/appliance-update.js';
import { apiGet, apiPost, apiRequest } from './client.js';

export type { ApplianceUpdateDto };

export const fetchApplianceUpdate = (signal?: AbortSignal) =>
  apiGet<ApplianceUpdateDto>('/appliance/update', { signal });
/** Sends the bundle file as the raw body; the server verifies it before keeping it. */
export const uploadUpdateBundle = (file: Blob) =>
  apiRequest<ApplianceUpdateDto>('PUT', '/appliance/update/bundle', file);
/** Writes the uploaded bundle into the other slot; the appliance reboots into it. */
export const applyApplianceUpdate = () => apiPost<ApplianceUpdateDto>('/appliance/update/apply');
