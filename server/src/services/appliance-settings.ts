// Appliance settings: validated (hostname RFC 1123, DNS as IP addresses, NTP as names or
// addresses, a time zone that /usr/share/zoneinfo has), kept in <dataDir>/appliance-settings.json
// (the data disk: a reboot keeps them), applied through appliance-settings-apply.ts when this
// server runs on the appliance (QX_APPLIANCE_ROOT), also again at every start (/etc is in RAM).
import { isIP } from 'node:net';
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import type { ApplianceSettingsDto, PutApplianceSettingsDto } from '../dto/appliance.js';
import { HttpError } from '../errors.js';
import { log } from '../log.js';
import { ZONEINFO, applyOsSettings, type OsSettings } from './appliance-settings-apply.js';

const FILE = 'appliance-settings.json';
/** What a fresh appliance has (build/iso/base-setup.sh). */
const DEFAULTS: OsSettings = { hostname: 'quantix', dnsServers: [], ntpServers: [], timeZone: 'UTC' };

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** RFC 1123: dot-separated labels of letters, digits and inner hyphens, 63 each, 253 in all. */
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`, 'i');
const ZONE = /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+){0,2}$/;
/** zoneinfo entries that are not zones of their own (variants, tables, the POSIX rules). */
const NOT_ZONES = new Set(['posix', 'right', 'posixrules', 'localtime', 'Factory', 'SystemV']);

export function validHostname(name: string): boolean {
  return HOSTNAME.test(name) && !/^\d+(\.\d+)*$/.test(name);
}

export class ApplianceSettings {
  private current: OsSettings = DEFAULTS;
  private zones: Promise<string[]> | undefined;

  constructor(
    private readonly dataDir: string,
    /** Where the OS files are written; undefined: settings are kept, not applied (dev, tests of the API). */
    private readonly root: string | undefined,
    private readonly zoneinfo = ZONEINFO,
  ) {}

  /** Reads the kept settings and, on the appliance, applies them again (its /etc lives in RAM). */
  async start(): Promise<void> {
    const text = await readFile(join(this.dataDir, FILE), 'utf8').catch(() => undefined);
    if (!text) return;
    try {
      this.current = { ...DEFAULTS, ...(JSON.parse(text) as Partial<OsSettings>) };
    } catch (err) {
      log.warn('appliance settings unreadable: defaults used', { file: FILE, error: (err as Error).message });
      return;
    }
    if (this.root) {
      await applyOsSettings(this.root, this.current).catch((err: Error) =>
        log.error('appliance settings not applied', { error: err.message }),
      );
    }
  }

  get(): ApplianceSettingsDto {
    return { ...this.current, applied: this.root !== undefined };
  }

  async update(req: PutApplianceSettingsDto): Promise<ApplianceSettingsDto> {
    const next = await this.validate(req);
    if (this.root) await applyOsSettings(this.root, next);
    await writeFileAtomic(join(this.dataDir, FILE), `${JSON.stringify(next, null, 2)}\n`);
    this.current = next;
    return this.get();
  }

  /** Zone names (Area/Location, UTC, …) from the zoneinfo directory, sorted; read once. */
  timeZones(): Promise<string[]> {
    this.zones ??= listZones(this.zoneinfo).then((z) => z.sort());
    return this.zones;
  }

  private async validate(req: PutApplianceSettingsDto): Promise<OsSettings> {
    const hostname = req.hostname.trim().toLowerCase();
    if (!validHostname(hostname))
      throw new HttpError(
        400,
        `hostname: "${req.hostname}" is not a valid host name (RFC 1123: letters, digits and inner hyphens, labels of at most 63 separated by dots)`,
        'hostname',
      );
    const dnsServers = req.dnsServers.map((d) => d.trim());
    dnsServers.forEach((d, i) => {
      if (!isIP(d))
        throw new HttpError(400, `dnsServers[${i}]: "${d}" is not an IPv4 or IPv6 address`, `dnsServers[${i}]`);
    });
    const ntpServers = req.ntpServers.map((n) => n.trim().toLowerCase());
    ntpServers.forEach((n, i) => {
      if (!isIP(n) && !validHostname(n))
        throw new HttpError(
          400,
          `ntpServers[${i}]: "${n}" is neither a host name nor an IP address`,
          `ntpServers[${i}]`,
        );
    });
    const timeZone = req.timeZone.trim();
    if (
      !ZONE.test(timeZone) ||
      NOT_ZONES.has(timeZone.split('/')[0]!) ||
      !(await isZoneFile(join(this.zoneinfo, timeZone)))
    )
      throw new HttpError(400, `timeZone: "${req.timeZone}" is not a time zone of ${this.zoneinfo}`, 'timeZone');
    return { hostname, dnsServers: [...new Set(dnsServers)], ntpServers: [...new Set(ntpServers)], timeZone };
  }
}

/** A compiled zone file starts with "TZif" (tzfile(5)). */
async function isZoneFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === 'TZif';
  } catch {
    return false; // a directory
  } finally {
    await fh.close();
  }
}

async function listZones(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => [])) {
    if (!prefix && (NOT_ZONES.has(e.name) || !/^[A-Z]/.test(e.name))) continue;
    const name = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listZones(dir, name)));
    else if ((e.isFile() || e.isSymbolicLink()) && ZONE.test(name) && (await isZoneFile(join(dir, name))))
      out.push(name);
  }
  return out;
}
