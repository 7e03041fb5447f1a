// Converts one inspected image to qcow2 (or VMDK for export) with qemu-img inside the sandbox:
// the input (or, for a volume with a backing chain, its pool directory) read-only, only the
// output directory writable, no network. Reports qemu-img's own `-p` percentage as it goes.
import { basename, dirname } from 'node:path';
import { run } from '../exec/run.js';
import { FLUSHED_OUTPUT, qemuFilename, sandboxedQemuImg, type FileSlice } from './qemu-sandbox.js';

export interface ConvertOptions {
  input: string;
  inputFormat: string;
  /** Read only this byte range of `input` (a disk inside an OVA). */
  inputSlice?: FileSlice;
  /**
   * A volume whose backing chain (already judged) lies in this directory: the directory is
   * visible read-only at its own path and `input` is opened there, so the chain resolves.
   */
  inputDir?: string;
  /** Host path of the result; its directory becomes the sandbox's only writable place. */
  output: string;
  outputFormat: 'qcow2' | 'vmdk';
  onPercent?: (percent: number) => void;
  signal?: AbortSignal;
}

const progressRe = /\((\d+(?:\.\d+)?)\/100%\)/g;

/** Runs the conversion; rejects with ExecError (qemu-img's message) on failure. */
export async function convertDisk(o: ConvertOptions): Promise<void> {
  const outOpts = o.outputFormat === 'vmdk' ? ['-o', 'subformat=streamOptimized'] : [];
  const args = [
    'convert',
    '-p',
    ...FLUSHED_OUTPUT,
    ...(o.inputSlice ? [] : ['-f', o.inputFormat]),
    '-O',
    o.outputFormat,
    ...outOpts,
    o.inputDir ? o.input : qemuFilename(o.input, o.inputFormat, o.inputSlice),
    `/out/${basename(o.output)}`,
  ];
  const mounts = o.inputDir ? { readOnly: [o.inputDir] } : { input: o.input };
  let last = -1;
  await run('bwrap', sandboxedQemuImg({ ...mounts, outputDir: dirname(o.output) }, args), {
    timeoutMs: 24 * 3600_000,
    signal: o.signal,
    maxOutputBytes: 64 * 1024,
    onOutput: (chunk) => {
      for (const m of chunk.toString('latin1').matchAll(progressRe)) {
        const p = Math.floor(Number(m[1]));
        if (p !== last) {
          last = p;
          o.onPercent?.(p);
        }
      }
    },
  });
}
