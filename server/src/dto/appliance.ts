// Appliance settings (admin): hostname, DNS and NTP servers, time zone, applied to the appliance's
// own OS files by the server (services/appliance-settings*.ts); and power actions on a host
// (services/host-power.ts).
import { arr, bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { TaskDto } from './tasks.js';

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

export const PowerHostDto = named(
  'PowerHostDto',
  obj({
    action: oneOf(['reboot', 'shutdown'] as const),
    confirm: str({ maxLength: 253, description: "the host's name, typed by the operator" }),
    vmShutdownTimeoutSeconds: opt(
      int({ min: 10, max: 3600, description: 'how long running VMs get to shut down before being forced off (120)' }),
    ),
  }),
);
export type PowerHostDto = Infer<typeof PowerHostDto>;

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
  {
    id: 'powerHost',
    method: 'POST',
    path: '/api/v1/hosts/:hostId/power',
    tag: 'hosts',
    role: 'admin',
    body: PowerHostDto,
    status: 202,
    response: TaskDto,
    summary:
      'Reboot or shut down a host: its running VMs are shut down cleanly first (forced off after the timeout); autostart VMs come back after a reboot',
  },
] as const satisfies readonly Operation[];
