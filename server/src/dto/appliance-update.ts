// A/B updates of an installed appliance (admin): its slots and versions, the uploaded bundle and
// the last attempt; upload a signed bundle, apply it (services/appliance-update*.ts).
import { bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { timestamp } from './common.js';

const slot = () => oneOf(['a', 'b'] as const);

export const ApplianceUpdateDto = named(
  'ApplianceUpdateDto',
  obj({
    installed: bool({ description: 'false on a live (not installed) system: updates need an installed one' }),
    notice: opt(str({ description: 'why updates cannot be applied here, when they cannot' })),
    version: str({ description: 'the running system (/etc/quantix-release)' }),
    slot: opt(slot()),
    goodSlot: opt(slot()),
    otherSlot: opt(obj({ slot: slot(), version: opt(str({ description: 'absent: the slot is empty' })) })),
    bundle: opt(
      obj({
        version: str(),
        build: str(),
        sizeBytes: int(),
        uploadedAt: timestamp(),
      }),
    ),
    lastAttempt: opt(
      obj({
        fromSlot: slot(),
        toSlot: slot(),
        fromVersion: str(),
        toVersion: str(),
        started: timestamp(),
        finished: opt(timestamp()),
        result: oneOf(['pending', 'trying', 'succeeded', 'rolled-back'] as const, {
          description: 'pending: rebooting into it; trying: booted, not yet healthy; rolled-back: back on fromSlot',
        }),
      }),
    ),
  }),
);
export type ApplianceUpdateDto = Infer<typeof ApplianceUpdateDto>;

export const applianceUpdateOperations = [
  {
    id: 'getApplianceUpdate',
    method: 'GET',
    path: '/api/v1/appliance/update',
    tag: 'system',
    role: 'admin',
    status: 200,
    response: ApplianceUpdateDto,
    summary: 'The system slots, their versions, the uploaded bundle and the last update attempt',
  },
  {
    id: 'uploadUpdateBundle',
    method: 'PUT',
    path: '/api/v1/appliance/update/bundle',
    tag: 'system',
    role: 'admin',
    body: 'stream',
    status: 200,
    response: ApplianceUpdateDto,
    summary:
      'Upload an update bundle (.qxu from make iso; raw body, Content-Length, at most 2 GiB) to the data disk; it is verified (signature, product, every part) and kept only when it checks out (422 naming what is wrong)',
  },
  {
    id: 'applyApplianceUpdate',
    method: 'POST',
    path: '/api/v1/appliance/update/apply',
    tag: 'system',
    role: 'admin',
    status: 202,
    response: ApplianceUpdateDto,
    summary:
      'Write the uploaded bundle (verified again) into the other slot and reboot into it once; the new system marks itself good when healthy, else the appliance comes back on this slot by itself (409 on a live system)',
  },
] as const satisfies readonly Operation[];
