// Appliance settings (admin): hostname, DNS and NTP servers, time zone, applied to the appliance's
// own OS files by the server (services/appliance-settings*.ts); and power actions on a host.
import { arr, bool, named, obj, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';

const settingsProps = {
  hostname: str({ minLength: 1, maxLength: 253, description: 'RFC 1123 host name, e.g. vdc1 or vdc1.example.org' }),
  dnsServers: arr(str({ maxLength: 45 }), {
    maxItems: 3,
    description: 'IPv4/IPv6 addresses written to resolv.conf; empty: DHCP or the console network setting decides',
  }),
  ntpServers: arr(str({ maxLength: 253 }), {
    maxItems: 8,
    description: 'host names or addresses for systemd-timesyncd; empty: its default pool',
  }),
  timeZone: str({ minLength: 1, maxLength: 64, description: 'a zone of /usr/share/zoneinfo, e.g. Europe/Berlin' }),
};

export const ApplianceSettingsDto = named(
  'ApplianceSettingsDto',
  obj({
    ...settingsProps,
    applied: bool({
      description: 'true on the appliance (the settings are written to its system files); false: only kept',
    }),
  }),
);
export type ApplianceSettingsDto = Infer<typeof ApplianceSettingsDto>;

export const PutApplianceSettingsDto = named('PutApplianceSettingsDto', obj(settingsProps));
export type PutApplianceSettingsDto = Infer<typeof PutApplianceSettingsDto>;

export const applianceOperations = [
  {
    id: 'getApplianceSettings',
    method: 'GET',
    path: '/api/v1/appliance/settings',
    tag: 'system',
    role: 'admin',
    status: 200,
    response: ApplianceSettingsDto,
    summary: 'Hostname, DNS, NTP and time zone of the appliance',
  },
  {
    id: 'putApplianceSettings',
    method: 'PUT',
    path: '/api/v1/appliance/settings',
    tag: 'system',
    role: 'admin',
    body: PutApplianceSettingsDto,
    status: 200,
    response: ApplianceSettingsDto,
    summary: 'Change and apply them (kept across reboots on the data disk)',
  },
  {
    id: 'listTimeZones',
    method: 'GET',
    path: '/api/v1/appliance/time-zones',
    tag: 'system',
    role: 'admin',
    status: 200,
    response: arr(str()),
    summary: 'The time zones the appliance knows (/usr/share/zoneinfo), sorted',
  },
] as const satisfies readonly Operation[];
