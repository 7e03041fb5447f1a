// A/B updates of an installed appliance (admin): its slots and versions, the uploaded bundle and
// the last attempt; upload a signed bundle, apply it (services/appliance-update*.ts).
import { bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { timestamp } from './common.js';
import { TaskDto } from './tasks.js';

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
    download: opt(
      obj({
        url: str({ description: 'the URL given, without its query string' }),
        state: oneOf(['downloading', 'verifying', 'failed'] as const, {
          description: 'a download that verified shows as the bundle instead',
        }),
        receivedBytes: int(),
        totalBytes: opt(int({ description: "the remote server's Content-Length, when it sent one" })),
        startedAt: timestamp(),
        error: opt(str({ description: 'why it failed' })),
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

export const DownloadUpdateBundleDto = named(
  'DownloadUpdateBundleDto',
  obj({
    url: str({
      maxLength: 2048,
      description: 'an http or https URL this appliance can reach (no user:password in it)',
    }),
    caCertificatePem: opt(
      str({
        maxLength: 65_536,
        description: "PEM: the CA(s) trusted for this https URL instead of the system's (an internal mirror)",
      }),
    ),
  }),
);

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
    id: 'downloadUpdateBundle',
    method: 'POST',
    path: '/api/v1/appliance/update/download',
    tag: 'system',
    role: 'admin',
    body: DownloadUpdateBundleDto,
    status: 202,
    response: ApplianceUpdateDto,
    summary:
      'Fetch an update bundle from a URL (http or https; redirects only to http(s), never https to http, at most 5; at most 2 GiB; 60 s without a byte or 60 min in all end it); progress in download, then verified exactly as an upload and kept as the bundle, or download.error says why not',
  },
  {
    id: 'cancelUpdateBundleDownload',
    method: 'DELETE',
    path: '/api/v1/appliance/update/download',
    tag: 'system',
    role: 'admin',
    status: 200,
    response: ApplianceUpdateDto,
    summary: 'Stop a running bundle download (nothing is kept), or clear a failed one from the status',
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
  {
    id: 'updateHostSystem',
    method: 'POST',
    path: '/api/v1/hosts/:hostId/update',
    tag: 'hosts',
    role: 'admin',
    status: 202,
    response: TaskDto,
    summary:
      "Update an appliance-installed host with the uploaded bundle, as a task: maintenance (its VMs evacuated), the bundle sent to its agent (checked with the host's own image key, written into its inactive slot, armed), reboot, back online reporting the new version, maintenance off (409: no bundle, not updatable — see the host's system.updateBlocker — or already on that version; never this server's own appliance)",
  },
  {
    id: 'updateAllHostSystems',
    method: 'POST',
    path: '/api/v1/appliance/update/hosts',
    tag: 'system',
    role: 'admin',
    status: 202,
    response: TaskDto,
    summary:
      'Update every online appliance host that is behind the uploaded bundle, one host at a time as updateHostSystem does, as one task that stops at the first host that fails (409 when none is behind)',
  },
] as const satisfies readonly Operation[];
