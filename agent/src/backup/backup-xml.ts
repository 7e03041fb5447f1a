// The XML libvirt's backup API reads, built with the agent's one builder: <domainbackup> (push
// mode into files we pre-create) and <domaincheckpoint> (the dirty bitmaps the next run reads).
// https://libvirt.org/formatbackup.html · https://libvirt.org/formatcheckpoint.html
import { buildXml } from '../libvirt/xml/builder.js';

export interface BackupTargetDisk {
  /** Target device (vda). */
  dev: string;
  /** The pre-created qcow2 QEMU writes into; empty = this disk is not backed up (CD-ROM). */
  file: string;
}

/** Push-mode backup; `incremental` names the checkpoint the changes are counted from. */
export function backupXml(disks: readonly BackupTargetDisk[], incremental?: string): string {
  return buildXml({
    domainbackup: {
      '@mode': 'push',
      ...(incremental ? { incremental } : {}),
      disks: {
        disk: disks.map((d) =>
          d.file
            ? {
                '@name': d.dev,
                '@backup': 'yes',
                '@type': 'file',
                target: { '@file': d.file },
                driver: { '@type': 'qcow2' },
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
      disks: { disk: disks.map((d) => ({ '@name': d.dev, '@checkpoint': d.file ? 'bitmap' : 'no' })) },
    },
  });
}
