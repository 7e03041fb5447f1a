// The appliance's own settings (server/src/dto/appliance.ts), host power, its HTTPS certificate
// and the signed-in user's password. No Lit imports.
import type { ApplianceSettingsDto, PowerHostDto, PutApplianceSettingsDto } from '@dto/appliance.js';
import type { TaskDto } from '@dto/tasks.js';
import type { CertificateDto, InstallCertificateDto } from '@dto/system.js';
import type { ChangePasswordDto } from '@dto/auth.js';
import { apiGet, apiPost, apiRequest } from './client.js';

export type { ApplianceSettingsDto, CertificateDto, PutApplianceSettingsDto };

export const fetchApplianceSettings = (signal?: AbortSignal) =>
  apiGet<ApplianceSettingsDto>('/appliance/settings', { signal });
export const saveApplianceSettings = (body: PutApplianceSettingsDto) =>
  apiRequest<ApplianceSettingsDto>('PUT', '/appliance/settings', body);
export const fetchTimeZones = (signal?: AbortSignal) => apiGet<string[]>('/appliance/time-zones', { signal });

export const fetchCertificate = (signal?: AbortSignal) => apiGet<CertificateDto>('/settings/certificate', { signal });
export const installCertificate = (body: InstallCertificateDto) =>
  apiRequest<CertificateDto>('PUT', '/settings/certificate', body);

/** Reboot or shut down a host (its running VMs are shut down first); `confirm` is the host's name. */
export const powerHost = (hostId: string, body: PowerHostDto) =>
  apiPost<TaskDto>(`/hosts/${encodeURIComponent(hostId)}/power`, body);

export const changePassword = (body: ChangePasswordDto) => apiPost<void>('/auth/password', body);

/** "a, b ,c" or one per line → ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
