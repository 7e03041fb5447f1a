// `qx ova inspect|import|export`: local-file front end of agent/src/ova. Prints the inspect
// JSON (the documented field set, nothing more) and, for import, the output paths.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { finished } from 'node:stream/promises';
import type { OvaSpec } from '@quantix/proto/v1/image.js';
import { importOvaFile, inspectOva } from '../ova/ova-import.js';
import { exportOva, type ExportDisk, type ExportSource } from '../ova/ova-export.js';
import { exportSourceFromVm } from '../ova/vm-export-source.js';
import { Virsh } from '../libvirt/virsh.js';
import { probeFile } from '../storage/volume-probe.js';

/** The `qx ova inspect` JSON. */
export function inspectJson(spec: OvaSpec) {
  return {
    name: spec.name,
    cpus: spec.cpus,
    coresPerSocket: spec.coresPerSocket,
    memoryMiB: spec.memoryMib,
    firmware: spec.firmware,
    osType: spec.osType,
    disks: spec.disks.map((d) => ({
      file: d.file,
      capacityBytes: d.capacityBytes,
      controller: d.controller,
      format: d.format,
    })),
    nics: spec.nics.map((n) => ({ model: n.model, network: n.network, mac: n.mac })),
    manifest: spec.manifest,
    warnings: spec.warnings,
  };
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function positiveInt(name: string, raw: string | undefined): number {
  if (raw === undefined) throw new Error(`--${name} is required`);
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
}

/** A `--disk FILE`: qcow2 when its header says so, raw (or ISO) otherwise; export judges the chain. */
async function exportDisk(file: string): Promise<ExportDisk> {
  const path = resolve(file);
  const { format } = await probeFile(path);
  if (format === 'qcow2') return { path, format };
  if (format === 'raw' || format === 'iso') return { path, format: 'raw' };
  throw new Error(`--disk ${file}: ${format} images are not exported; convert to qcow2 or raw first`);
}

function oneFile(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new Error(`${what} needs exactly one FILE.ova`);
  return positionals[0]!;
}

async function exportCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      disk: { type: 'string', multiple: true },
      name: { type: 'string' },
      cpus: { type: 'string' },
      'cores-per-socket': { type: 'string' },
      'memory-mib': { type: 'string' },
      firmware: { type: 'string' },
      'os-type': { type: 'string' },
      nic: { type: 'string', multiple: true },
      vm: { type: 'string' },
      connect: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (!values.out) throw new Error('--out FILE.ova is required');
  let src: ExportSource;
  if (values.vm) {
    src = await exportSourceFromVm(
      new Virsh(values.connect ?? process.env.QX_LIBVIRT_URI ?? 'qemu:///system'),
      values.vm,
    );
  } else {
    if (!values.disk?.length) throw new Error('--disk is required (or --vm NAME)');
    if (!values.name) throw new Error('--name is required');
    const firmware = values.firmware ?? 'bios';
    if (firmware !== 'bios' && firmware !== 'efi') throw new Error(`--firmware must be bios or efi, got "${firmware}"`);
    src = {
      name: values.name,
      cpus: positiveInt('cpus', values.cpus),
      coresPerSocket: values['cores-per-socket'] ? positiveInt('cores-per-socket', values['cores-per-socket']) : 1,
      memoryMib: positiveInt('memory-mib', values['memory-mib']),
      firmware,
      osType: values['os-type'] ?? 'other',
      disks: await Promise.all(values.disk.map(exportDisk)),
      nics: (values.nic ?? []).map((n) => {
        const [model = 'E1000', network = 'VM Network', ...mac] = n.split(':');
        return { model, network, mac: mac.join(':') };
      }),
    };
  }
  const out = resolve(values.out);
  const partial = `${out}.partial`;
  const file = createWriteStream(partial, { flags: 'wx' });
  try {
    await exportOva(src, file, { workDir: dirname(out) });
    file.end();
    await finished(file);
    await rename(partial, out);
  } catch (err) {
    file.destroy();
    await rm(partial, { force: true });
    throw err;
  }
  print({ ova: out, name: src.name, disks: src.disks.map((d) => d.path) });
}

/** Runs `qx ova <sub> …`. */
export async function ovaCommand(argv: string[]): Promise<void> {
  const [sub, ...args] = argv;
  switch (sub) {
    case 'inspect': {
      const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
      const spec = await inspectOva(createReadStream(oneFile(positionals, 'inspect')));
      print(inspectJson(spec));
      return;
    }
    case 'import': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { dest: { type: 'string' }, name: { type: 'string' } },
      });
      if (!values.dest) throw new Error('--dest DIR is required');
      const result = await importOvaFile(resolve(oneFile(positionals, 'import')), {
        destDir: resolve(values.dest),
        namePrefix: values.name,
      });
      print({ ...inspectJson(result.spec), outputs: result.outputs });
      return;
    }
    case 'export':
      return exportCommand(args);
    default:
      throw new Error(`unknown ova command "${sub ?? ''}" (inspect, import, export)`);
  }
}
