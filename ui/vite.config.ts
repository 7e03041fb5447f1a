import { defineConfig } from 'vite';

export default defineConfig({
  build: { outDir: 'dist', target: 'es2022' },
  server: { proxy: { '/api': { target: 'https://127.0.0.1:8443', secure: false, ws: true } } },
});
