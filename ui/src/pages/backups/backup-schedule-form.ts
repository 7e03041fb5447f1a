// Pure helpers of the Backup jobs page (#24): a schedule's form data as the API's input, the input
// part of a stored schedule, and the one-line texts of its selection and retention. No Lit.
import type { BackupScheduleDto, BackupScheduleInputDto, BackupSelectionDto } from '@dto/backups.js';

/** The fields the server names in its errors about a schedule (cron.minute … for a bad cron item). */
export const CRON_FIELDS = ['cron', 'cron.minute', 'cron.hour', 'cron.dayOfMonth', 'cron.month', 'cron.dayOfWeek'];
export const SCHEDULE_FIELDS = [
  'name',
  'selection',
  'pool',
  'hostId',
  'keepLast',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  ...CRON_FIELDS,
];

const KEEPS = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly'] as const;

/** The schedule a form describes: tags comma-separated, VMs and clusters from multiple selects. */
export function scheduleInput(data: FormData): BackupScheduleInputDto {
  const out: BackupScheduleInputDto = {
    name: String(data.get('name') ?? '').trim(),
    cron: String(data.get('cron') ?? '').trim(),
    selection: {
      vmIds: data.getAll('vmIds').map(String),
      tags: String(data.get('tags') ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      clusterIds: data.getAll('clusterIds').map(String),
    },
    pool: String(data.get('pool') ?? ''),
    enabled: data.get('enabled') === 'on',
  };
  const hostId = String(data.get('hostId') ?? '');
  if (hostId) out.hostId = hostId;
  for (const k of KEEPS) {
    const n = Number(data.get(k) || 0);
    if (n) out[k] = n;
  }
  return out;
}

/** The settings of a stored schedule, as sent back when only `enabled` changes. */
export function inputOf(s: BackupScheduleDto): BackupScheduleInputDto {
  const out: BackupScheduleInputDto = {
    name: s.name,
    cron: s.cron,
    selection: s.selection,
    pool: s.pool,
    enabled: s.enabled,
  };
  if (s.hostId) out.hostId = s.hostId;
  for (const k of KEEPS) if (s[k]) out[k] = s[k];
  return out;
}

/** "tags prod, nightly · VMs web1 · clusters Rack A" with names where known. */
export function selectionText(
  sel: BackupSelectionDto,
  vms: readonly { id: string; name: string }[],
  clusters: readonly { id: string; name: string }[],
): string {
  const name = (list: readonly { id: string; name: string }[], id: string) => list.find((x) => x.id === id)?.name ?? id;
  const parts: string[] = [];
  if (sel.tags.length) parts.push(`tags ${sel.tags.join(', ')}`);
  if (sel.vmIds.length) parts.push(`VMs ${sel.vmIds.map((id) => name(vms, id)).join(', ')}`);
  if (sel.clusterIds.length) parts.push(`clusters ${sel.clusterIds.map((id) => name(clusters, id)).join(', ')}`);
  return parts.join(' · ');
}

/** "last 7, daily 14" or "keep all". */
export function retentionText(s: Pick<BackupScheduleInputDto, (typeof KEEPS)[number]>): string {
  const rules = KEEPS.flatMap((k) => (s[k] ? [`${k.slice(4).toLowerCase()} ${s[k]}`] : []));
  return rules.length ? rules.join(', ') : 'keep all';
}
