import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  // The REST contract: DTO types (erased) and server/src/dto/enums.ts (import-free value lists).
  // Only Vite and tsc know the alias: modules unit-tested under tsx import types from it, no values.
  resolve: { alias: { '@dto': fileURLToPath(new URL('../server/src/dto', import.meta.url)) } },
  build: { outDir: 'dist', target: 'es2022' },
  server: { proxy: { '/api': { target: 'https://127.0.0.1:8443', secure: false, ws: true } } },
});
