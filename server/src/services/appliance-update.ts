// A/B updates of the appliance this server runs on: keeps one uploaded bundle on the data disk
// (verified as it lands), reports the slots (@quantix/proto/appliance: the same reading as the
// agent's) and the attempt file of appliance/quantix-update, and applies a bundle: verify again,
// write it into the other slot, arm a one-shot boot of it. The boot-side logic (backup, health
// mark, rollback) is the script's. Other appliance hosts: host-update.ts.
import { X509Certificate } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { isSlot, parseKeyValues, readApplianceSystem, readText } from '@quantix/proto/appliance/appliance-system.js';
import { installIntoOtherSlot } from '@quantix/proto/appliance/slot-install.js';
import { verifyBundle } from '@quantix/proto/appliance/update-bundle.js';
import { updateRefusal } from '@quantix/proto/appliance/version.js';
import type { ApplianceUpdateDto } from '../dto/appliance-update.js';
import { HttpError } from '../errors.js';
import { log } from '../log.js';
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

/** The bundle as other hosts get it (host-update.ts). */
export interface UploadedBundle {
  file: string;
  version: string;
  sizeBytes: number;
}

const MAX_BUNDLE_BYTES = 2 * 2 ** 30;

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

  async status(): Promise<ApplianceUpdateDto> {
    const dto: ApplianceUpdateDto = await readApplianceSystem(this.o.root, this.o.version);
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
        ...(a.reason ? { reason: a.reason } : {}),
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

  /** The uploaded (verified) bundle, for updating other appliance hosts; 409 when there is none. */
  async uploadedBundle(): Promise<UploadedBundle> {
    const { bundle } = await this.status();
    const size = (await stat(this.bundleFile).catch(() => undefined))?.size;
    if (!bundle || size === undefined) throw new HttpError(409, 'no update bundle uploaded: upload one first');
    return { file: this.bundleFile, version: bundle.version, sizeBytes: size };
  }

  /**
   * Verifies the uploaded bundle again, writes it into the other slot and reboots into it once;
   * 409 for the running version, and for an older one unless `allowDowngrade`.
   */
  apply(options: { allowDowngrade?: boolean } = {}): Promise<ApplianceUpdateDto> {
    return this.exclusive(async () => {
      const before = await this.status();
      if (!before.installed) throw new HttpError(409, before.notice ?? 'updates need an installed system');
      if (!before.bundle || !(await stat(this.bundleFile).catch(() => undefined))) {
        throw new HttpError(409, 'no update bundle uploaded');
      }
      // Before the (long) verification; installIntoOtherSlot checks the verified manifest again.
      const refusal = updateRefusal('this appliance', before.version, before.bundle.version, options.allowDowngrade);
      if (refusal) throw new HttpError(409, refusal);
      const verified = await verifyBundle(this.bundleFile, await readFile(this.o.keyFile, 'utf8'));
      const { slot, version } = await installIntoOtherSlot({
        root: this.o.root!,
        system: before,
        bundleFile: this.bundleFile,
        verified,
        subject: 'this appliance',
        allowDowngrade: options.allowDowngrade,
      });
      log.info('update armed: rebooting into the other slot', { slot, version });
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
