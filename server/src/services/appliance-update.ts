// A/B updates of the appliance this server runs on: keeps one uploaded bundle on the data disk
// (verified as it lands), reports the slots from the kernel command line, grubenv and the attempt
// file of appliance/quantix-update, and applies a bundle: verify again, write it into the other
// slot, arm a one-shot boot of it. The boot-side logic (backup, health mark, rollback) is the script's.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import type { ApplianceUpdateDto } from '../dto/appliance-update.js';
import { HttpError } from '../errors.js';
import { log } from '../log.js';
import { verifyBundle, writeSlot } from './appliance-update-bundle.js';
import { DownloadError, displayUrl, downloadTo, parseBundleUrl } from './appliance-update-download.js';

export interface ApplianceUpdateOptions {
  /** The appliance's root ("/" there; QX_APPLIANCE_ROOT); unset: not an appliance, nothing to update. */
  root: string | undefined;
  /** Uploaded bundle and attempt state, on the data disk outside the server's data (QX_UPDATE_DIR). */
  dir: string;
  /** The build's public key (QX_UPDATE_KEY; <root>/usr/lib/quantix/update-key.pem). */
  keyFile: string;
  /** Version reported when the root has no /etc/quantix-release. */
  version: string;
  maxBytes?: number;
  /** Bundle downloads: no byte for this long (default 60 s), the whole download (default 60 min). */
  downloadStallMs?: number;
  downloadTotalMs?: number;
}

type Download = NonNullable<ApplianceUpdateDto['download']>;

type Slot = 'a' | 'b';
const MAX_BUNDLE_BYTES = 2 * 2 ** 30;
const SCRIPT_TIMEOUT_MS = 60_000;
const MEDIUM = 'run/live/medium';
const isSlot = (s: string | undefined): s is Slot => s === 'a' || s === 'b';

/** `key=value` lines (grubenv, quantix-release, attempt.env); comments and other lines ignored. */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][\w]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const readText = (file: string) => readFile(file, 'utf8').catch(() => undefined);

export class ApplianceUpdate {
  private busy = false;
  /** The running or last failed download (a successful one shows as the bundle). */
  private download?: Download;
  private downloadCancel?: AbortController;
  private downloading?: Promise<void>;
  constructor(private readonly o: ApplianceUpdateOptions) {}

  private get bundleFile() {
    return join(this.o.dir, 'bundle.qxu');
  }

  private async slots(): Promise<{ slot?: Slot; goodSlot?: Slot; notice?: string }> {
    if (!this.o.root) return { notice: 'this server does not run on a Quantix-vDC appliance' };
    const cmdline = (await readText(join(this.o.root, 'proc/cmdline'))) ?? '';
    const slot = /(?:^|\s)quantix\.slot=([ab])(?:\s|$)/.exec(cmdline)?.[1] as Slot | undefined;
    const env = await readText(join(this.o.root, MEDIUM, 'boot/grub/grubenv'));
    if (!slot || env === undefined) {
      return {
        notice: 'updates need an installed system: this appliance runs from the live image; install it to a disk first',
      };
    }
    const good = parseKeyValues(env).good_slot;
    return { slot, goodSlot: isSlot(good) ? good : undefined };
  }

  async status(): Promise<ApplianceUpdateDto> {
    const root = this.o.root ?? '/';
    const { slot, goodSlot, notice } = await this.slots();
    const release = parseKeyValues((await readText(join(root, 'etc/quantix-release'))) ?? '');
    const dto: ApplianceUpdateDto = { installed: !notice, version: release.QUANTIX_VERSION ?? this.o.version };
    if (notice) dto.notice = notice;
    if (slot) {
      dto.slot = slot;
      if (goodSlot) dto.goodSlot = goodSlot;
      const other: Slot = slot === 'a' ? 'b' : 'a';
      const otherRelease = await readText(join(root, MEDIUM, `slot-${other}/live/quantix-release`));
      const otherVersion = otherRelease && parseKeyValues(otherRelease).QUANTIX_VERSION;
      dto.otherSlot = otherVersion ? { slot: other, version: otherVersion } : { slot: other };
    }
    if (this.download) dto.download = { ...this.download };
    const meta = await readText(join(this.o.dir, 'bundle.json'));
    if (meta) dto.bundle = JSON.parse(meta) as ApplianceUpdateDto['bundle'];
    const a = parseKeyValues((await readText(join(this.o.dir, 'attempt.env'))) ?? '');
    const results = ['pending', 'trying', 'succeeded', 'rolled-back'] as const;
    const result = results.find((r) => r === a.result);
    if (isSlot(a.from_slot) && isSlot(a.to_slot) && result && a.started) {
      dto.lastAttempt = {
        fromSlot: a.from_slot,
        toSlot: a.to_slot,
        fromVersion: a.from_version ?? '',
        toVersion: a.to_version ?? '',
        started: a.started,
        ...(a.finished ? { finished: a.finished } : {}),
        result,
      };
    }
    return dto;
  }

  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy) throw new HttpError(409, 'an update bundle is being uploaded or applied; wait for it to finish');
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  /** Streams `body` (exactly `sizeBytes`) to the data disk, verifies it, keeps it as the bundle. */
  upload(sizeBytes: number, body: Readable): Promise<ApplianceUpdateDto> {
    const max = this.o.maxBytes ?? MAX_BUNDLE_BYTES;
    if (sizeBytes > max) throw new HttpError(413, `an update bundle is at most ${max} bytes`, 'Content-Length');
    return this.exclusive(async () => {
      await mkdir(this.o.dir, { recursive: true });
      const tmp = join(this.o.dir, 'bundle.qxu.tmp');
      let received = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          received += chunk.length;
          done(received > sizeBytes ? new HttpError(400, 'the body is longer than its Content-Length') : null, chunk);
        },
      });
      try {
        await pipeline(body, counter, createWriteStream(tmp, { mode: 0o600 }));
        if (received !== sizeBytes) throw new HttpError(400, `the body ended after ${received} of ${sizeBytes} bytes`);
        await this.keep(tmp, sizeBytes);
      } finally {
        await rm(tmp, { force: true });
      }
      return this.status();
    });
  }

  /** Verifies a received bundle file and keeps it as the bundle (the previous one stays if it fails). */
  private async keep(tmp: string, sizeBytes: number): Promise<void> {
    const verified = await verifyBundle(tmp, await readFile(this.o.keyFile, 'utf8'));
    await rm(join(this.o.dir, 'bundle.json'), { force: true });
    await rename(tmp, this.bundleFile);
    const { version, build } = verified.manifest;
    const meta = { version, build, sizeBytes, uploadedAt: new Date().toISOString() };
    await writeFileAtomic(join(this.o.dir, 'bundle.json'), JSON.stringify(meta));
    log.info('update bundle received and verified', { version, build, sizeBytes });
  }

  /**
   * Starts fetching a bundle from `urlText` (see appliance-update-download.ts for what is refused);
   * it is verified exactly as an upload. Progress and failures show in status().download.
   */
  async startDownload(urlText: string, caCertificatePem?: string): Promise<ApplianceUpdateDto> {
    const url = parseBundleUrl(urlText);
    if (caCertificatePem) checkPemCertificates(caCertificatePem);
    if (this.busy) throw new HttpError(409, 'an update bundle is being uploaded or applied; wait for it to finish');
    this.busy = true;
    const d: Download = {
      url: displayUrl(url),
      state: 'downloading',
      receivedBytes: 0,
      startedAt: new Date().toISOString(),
    };
    this.download = d;
    const cancel = new AbortController();
    this.downloadCancel = cancel;
    const tmp = join(this.o.dir, 'bundle.qxu.download');
    const limits = {
      maxBytes: this.o.maxBytes ?? MAX_BUNDLE_BYTES,
      stallMs: this.o.downloadStallMs ?? 60_000,
      totalMs: this.o.downloadTotalMs ?? 60 * 60_000,
      ...(caCertificatePem ? { ca: caCertificatePem } : {}),
    };
    log.info('update bundle download started', { url: d.url });
    this.downloading = (async () => {
      let error: string | undefined;
      try {
        await mkdir(this.o.dir, { recursive: true });
        const size = await downloadTo(url, tmp, limits, (p) => Object.assign(d, p), cancel.signal);
        d.state = 'verifying';
        await this.keep(tmp, size);
      } catch (err) {
        error = err instanceof DownloadError || err instanceof HttpError ? err.message : String(err);
      }
      await rm(tmp, { force: true }).catch(() => undefined);
      this.downloadCancel = undefined;
      this.downloading = undefined;
      this.busy = false;
      // The outcome shows only now: whoever sees it may start the next download and finds no partial file.
      if (error === undefined) {
        if (this.download === d) this.download = undefined;
      } else {
        d.state = 'failed';
        d.error = error;
        log.warn('update bundle download failed', { url: d.url, error });
      }
    })();
    return this.status();
  }

  /** Stops a running download (nothing is kept); clears a failed one from the status. */
  async cancelDownload(): Promise<ApplianceUpdateDto> {
    if (this.downloadCancel) {
      this.downloadCancel.abort();
      await this.downloading;
    } else this.download = undefined;
    return this.status();
  }

  /** Verifies the uploaded bundle again, writes it into the other slot and reboots into it once. */
  apply(): Promise<ApplianceUpdateDto> {
    return this.exclusive(async () => {
      const before = await this.status();
      if (!before.installed) throw new HttpError(409, before.notice ?? 'updates need an installed system');
      if (!before.bundle || !(await stat(this.bundleFile).catch(() => undefined))) {
        throw new HttpError(409, 'no update bundle uploaded');
      }
      const verified = await verifyBundle(this.bundleFile, await readFile(this.o.keyFile, 'utf8'));
      const script = join(this.o.root!, 'usr/lib/quantix/quantix-update');
      const run = promisify(execFile);
      const { stdout } = await run(script, ['prepare'], { timeout: SCRIPT_TIMEOUT_MS }).catch(scriptError);
      const slotDir = stdout.trim();
      const to = before.otherSlot!.slot;
      if (!slotDir.endsWith(`/slot-${to}/live`))
        throw new Error(`quantix-update prepare named ${slotDir}, not slot ${to}`);
      try {
        await writeSlot(this.bundleFile, verified, slotDir);
        const { version, build } = verified.manifest;
        await writeFileAtomic(
          join(slotDir, 'quantix-release'),
          `QUANTIX_VERSION=${version}\nQUANTIX_BUILD=${build}\n`,
          0o644,
        );
      } catch (err) {
        await run(script, ['abort'], { timeout: SCRIPT_TIMEOUT_MS }).catch(() => undefined);
        throw err;
      }
      await run(script, ['arm', to, before.version, verified.manifest.version], { timeout: SCRIPT_TIMEOUT_MS }).catch(
        scriptError,
      );
      log.info('update armed: rebooting into the other slot', { slot: to, version: verified.manifest.version });
      return this.status();
    });
  }
}

/** One or more PEM certificates, each parsing (TLS would silently ignore a bad one). */
function checkPemCertificates(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('none');
    for (const b of blocks) new X509Certificate(b);
  } catch {
    throw new HttpError(400, 'not a PEM certificate (-----BEGIN CERTIFICATE----- …)', 'caCertificatePem');
  }
}

/** quantix-update says why it refused on stderr (e.g. the slot is still on trial): 409 with that. */
function scriptError(err: Error & { stderr?: string }): never {
  const why = err.stderr?.trim().replace(/^quantix-update: /, '');
  throw new HttpError(409, why || `quantix-update failed: ${err.message}`);
}
