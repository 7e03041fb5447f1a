// The NBD wire format both of the agent's NBD clients speak (backup/nbd-client.ts reads a backup
// export, ova/nbd-writer.ts writes a decoded disk): the greeting check and the request header.
// Protocol: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md
export const IHAVEOPT = 0x49484156454f5054n;
const NBDMAGIC = 0x4e42444d41474943n;
const REQUEST_MAGIC = 0x25609513;
/** The reply to a request without structured replies (and to writes with them). */
export const SIMPLE_REPLY_MAGIC = 0x67446698;

export const FLAG_FIXED_NEWSTYLE = 1;
export const FLAG_NO_ZEROES = 2;

export const CMD_READ = 0;
export const CMD_WRITE = 1;
export const CMD_DISC = 2;
export const CMD_FLUSH = 3;
export const CMD_BLOCK_STATUS = 7;

/** The server's handshake flags from its 18-byte greeting; throws unless it is fixed newstyle. */
export function greetingFlags(hello: Buffer): number {
  if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT)
    throw new Error('not a newstyle NBD server');
  const flags = hello.readUInt16BE(16);
  if (!(flags & FLAG_FIXED_NEWSTYLE)) throw new Error('the NBD server is not fixed-newstyle');
  return flags;
}

/** A 28-byte request header. */
export function requestHeader(type: number, handle: bigint, offset: number, length: number): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(REQUEST_MAGIC, 0);
  h.writeUInt16BE(0, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(handle, 8);
  h.writeBigUInt64BE(BigInt(offset), 16);
  h.writeUInt32BE(length, 24);
  return h;
}
