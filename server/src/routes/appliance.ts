// Routes: the appliance's own settings (hostname, DNS, NTP, time zone) and host power; admin only.
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { applianceOperations } from '../dto/appliance.js';

export function applianceHandlers(s: Services): HandlersOf<typeof applianceOperations> {
  return {
    getApplianceSettings: () => s.appliance.get(),
    putApplianceSettings: ({ body }) => s.appliance.update(body),
    listTimeZones: () => s.appliance.timeZones(),
    powerHost: ({ params, body, principal }) => s.hostPower.power(params.hostId, body, principal.label),
  };
}
