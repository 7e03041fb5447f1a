// The version of the build this code belongs to: the root package.json's (quantix-vdc), which
// build/iso stamps into etc/quantix-release and the update bundle. The server holds agents against
// it and the agent reports it; read from the package.json at or above this module (the repository
// in development, /opt/quantix on the appliance).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PRODUCT = 'quantix-vdc';

/** The version in the nearest package.json named quantix-vdc at or above `from`. */
export function readBuildVersion(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === PRODUCT) {
        if (!pkg.version) throw new Error(`${file}: no version`);
        return pkg.version;
      }
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of ${PRODUCT} at or above ${from}`);
  }
}

/** This build's version (the root package.json's). */
export const BUILD_VERSION = readBuildVersion(dirname(fileURLToPath(import.meta.url)));
