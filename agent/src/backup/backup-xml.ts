// The XML libvirt's backup API reads, built with the agent's one builder: <domainbackup> (pull
// mode: QEMU exports the point in time over NBD on a Unix socket, the agent reads it) and
// <domaincheckpoint> (the dirty bitmaps the next run reads).
// https://libvirt.org/formatbackup.html · https://libvirt.org/formatcheckpoint.html
import { buildXml } from '../libvirt/xml/builder.js';

export interface BackupTargetDisk {
  /** Target device (vda). */
  dev: string;
  /** Whether this disk is backed up (a CD-ROM is not). */
  backup: boolean;
  /** Pull mode: the qcow2 libvirt creates for the copy-before-write data (removed when the job ends). */
  scratch?: string;
}

/** The NBD export name of a disk in a pull backup (libvirt's default, set explicitly). */
export const exportName = (dev: string) => dev;
/** The dirty bitmap an incremental pull backup exports for a disk (meta context qemu:dirty-bitmap:<this>). */
export const exportBitmap = (dev: string) => `backup-${dev}`;

/**
 * Pull-mode backup served on the Unix socket `socket`; `incremental` names the checkpoint the
 * changes are counted from (then each disk also exports its dirty bitmap). The guest's writes
 * during the job first copy the old data to each disk's scratch file.
 */
export function pullBackupXml(socket: string, disks: readonly BackupTargetDisk[], incremental?: string): string {
  return buildXml({
    domainbackup: {
      '@mode': 'pull',
      ...(incremental ? { incremental } : {}),
      server: { '@transport': 'unix', '@socket': socket },
      disks: {
        disk: disks.map((d) =>
          d.backup
            ? {
                '@name': d.dev,
                '@backup': 'yes',
                '@type': 'file',
                '@exportname': exportName(d.dev),
                ...(incremental ? { '@exportbitmap': exportBitmap(d.dev) } : {}),
                ...(d.scratch ? { scratch: { '@file': d.scratch }, driver: { '@type': 'qcow2' } } : {}),
              }
            : { '@name': d.dev, '@backup': 'no' },
        ),
      },
    },
  });
}

/** A checkpoint with a bitmap on every backed-up disk. */
export function checkpointXml(name: string, disks: readonly BackupTargetDisk[]): string {
  return buildXml({
    domaincheckpoint: {
      name,
      disks: { disk: disks.map((d) => ({ '@name': d.dev, '@checkpoint': d.backup ? 'bitmap' : 'no' })) },
    },
  });
}
