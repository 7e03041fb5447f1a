// The vDC updates this host's appliance system: the bundle arrives on a client stream (bounded in
// size and in time between messages) into the data disk, is checked against this image's OWN key
// (a compromised server cannot install a system the build did not sign), then written into the
// inactive slot and armed by the image's quantix-update, which reboots the host (its `arm`). Only an
// upgrade, unless the header allows a downgrade (the server checks first; this is the second line).
// Any refusal leaves no file of the bundle behind. Slot and release reading: @quantix/proto/appliance.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { UpdateSystemHeader, UpdateSystemRequest, UpdateSystemResponse } from '@quantix/proto/v1/host.js';
import { BUILD_VERSION } from '@quantix/proto/appliance/build-version.js';
import { readApplianceSystem } from '@quantix/proto/appliance/appliance-system.js';
import { BundleRefused, verifyBundle } from '@quantix/proto/appliance/update-bundle.js';
import { UpdateRefused, installIntoOtherSlot, updateBlocker } from '@quantix/proto/appliance/slot-install.js';
import type { AgentConfig } from '../config.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { log } from '../log.js';

export const MAX_BUNDLE_BYTES = 2 * 2 ** 30;
/** A sender that stops sending for this long is given up on. */
const STALL_MS = 60_000;

let underWay = false;

/** Receives, verifies and installs one bundle from `messages` (a header, then data). */
export async function updateSystem(
  config: AgentConfig,
  messages: AsyncIterable<UpdateSystemRequest>,
  stallMs = STALL_MS,
): Promise<UpdateSystemResponse> {
  const root = config.applianceRoot;
  const system = await readApplianceSystem(root, BUILD_VERSION);
  // Refused before a byte is stored: the sender learns at once.
  const blocker = updateBlocker(system);
  if (blocker || !root) throw failedPrecondition(`this host's system cannot be updated: ${blocker}`);
  if (underWay) throw failedPrecondition('an update of this host is already under way');
  underWay = true;
  const file = join(config.updateDir, 'incoming.qxu');
  try {
    await mkdir(config.updateDir, { recursive: true, mode: 0o700 });
    const { allowDowngrade } = await receive(messages, file, stallMs);
    const verified = await verifyBundle(file, await readFile(config.updateKeyFile, 'utf8'));
    const armed = await installIntoOtherSlot({
      root,
      system,
      bundleFile: file,
      verified,
      subject: 'this host',
      allowDowngrade,
    });
    log.info('system update armed: quantix-update reboots into it', armed);
    return armed;
  } catch (err) {
    if (err instanceof BundleRefused || err instanceof UpdateRefused) throw failedPrecondition(err.message);
    throw err;
  } finally {
    await rm(file, { force: true });
    underWay = false;
  }
}

/**
 * Writes the stream's bytes to `file`: exactly the header's size, no pause longer than `stallMs`;
 * resolves to the header.
 */
async function receive(
  messages: AsyncIterable<UpdateSystemRequest>,
  file: string,
  stallMs: number,
): Promise<UpdateSystemHeader> {
  const it = messages[Symbol.asyncIterator]();
  const next = async () => {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(failedPrecondition(`update bundle: nothing arrived for ${stallMs / 1000} s`)),
        stallMs,
      );
    });
    try {
      return await Promise.race([it.next(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  };
  const first = await next();
  if (first.done || first.value.msg?.$case !== 'header')
    throw invalidArgument('header', 'the first message must be the header');
  const header = first.value.msg.value;
  const size = header.sizeBytes;
  if (size <= 0 || size > MAX_BUNDLE_BYTES)
    throw invalidArgument('header.size_bytes', `expected 1 to ${MAX_BUNDLE_BYTES} bytes`);
  const out = createWriteStream(file, { mode: 0o600 });
  try {
    let received = 0;
    for (let m = await next(); !m.done; m = await next()) {
      if (m.value.msg?.$case !== 'data') throw invalidArgument('header', 'only the first message may be a header');
      received += m.value.msg.value.length;
      if (received > size) throw invalidArgument('header.size_bytes', `more than the declared ${size} bytes arrived`);
      if (!out.write(m.value.msg.value)) await once(out, 'drain');
    }
    if (received !== size) throw failedPrecondition(`update bundle: truncated (${received} of ${size} bytes arrived)`);
    return header;
  } finally {
    out.end();
    await once(out, 'close');
  }
}
