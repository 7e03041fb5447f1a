// A/B updates of an installed appliance (admin): its slots and versions, the uploaded bundle and
// the last attempt; upload a signed bundle, apply it (services/appliance-update*.ts).
import { arr, bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
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
        reason: opt(
          str({
            description:
              'rolled-back: why, as the new system recorded it before giving up (or the old one, when the new one never could)',
          }),
        ),
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

export const UpdateOptionsDto = named(
  'UpdateOptionsDto',
  obj({
    allowDowngrade: opt(
      bool({
        description:
          'install a bundle older than the running system (refused otherwise, 409 naming both versions); the same version is always refused',
      }),
    ),
  }),
);

export const HostUpdatePlanDto = named(
  'HostUpdatePlanDto',
  obj({
    bundleVersion: str({ description: "the uploaded bundle's version" }),
    hosts: arr(
      obj({
        id: str(),
        name: str(),
        update: bool({
          description: 'updateAllHostSystems would update it: an online appliance host older than the bundle',
        }),
        reason: str({
          description:
            'why it would be skipped (on the version already, newer, not updatable, offline); empty when updated',
        }),
      }),
    ),
  }),
);
export type HostUpdatePlanDto = Infer<typeof HostUpdatePlanDto>;

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
    body: UpdateOptionsDto,
    status: 202,
    response: ApplianceUpdateDto,
    summary:
      'Write the uploaded bundle (verified again) into the other slot and reboot into it once; the new system marks itself good when healthy, else the appliance comes back on this slot by itself (409 on a live system, for a bundle of the running version, and for an older one unless allowDowngrade)',
  },
  {
    id: 'updateHostSystem',
    method: 'POST',
    path: '/api/v1/hosts/:hostId/update',
    tag: 'hosts',
    role: 'admin',
    body: UpdateOptionsDto,
    status: 202,
    response: TaskDto,
    summary:
      "Update an appliance-installed host with the uploaded bundle, as a task: maintenance (its VMs evacuated), the bundle sent to its agent (checked with the host's own image key and version, written into its inactive slot, armed), reboot, back online reporting the new version, maintenance off (409: no bundle, not updatable — see the host's system.updateBlocker — already on that version, or newer than the bundle unless allowDowngrade; never this server's own appliance)",
  },
  {
    id: 'planHostSystemUpdates',
    method: 'GET',
    path: '/api/v1/appliance/update/hosts',
    tag: 'system',
    role: 'admin',
    status: 200,
    response: HostUpdatePlanDto,
    summary:
      'What updateAllHostSystems would do with the uploaded bundle now: each host, whether it would be updated, and if not why (409 when no bundle is uploaded)',
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
      'Update every online appliance host older than the uploaded bundle, one host at a time as updateHostSystem does, as one task that stops at the first host that fails; the result lists the hosts updated and those skipped with the reason (on the version already, newer than the bundle, not updatable, offline); never a downgrade (409 when none is behind)',
  },
] as const satisfies readonly Operation[];
