// The owner dashboard, built into web/dist/dashboard, which tally embeds and
// serves at /dashboard/. Everything (React, uPlot) is bundled: no CDN.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/dashboard/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: here('../dist/dashboard'),
    emptyOutDir: true,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
