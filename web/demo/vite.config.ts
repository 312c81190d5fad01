// The example résumé site. Built into web/dist/demo, which tally embeds and
// serves at /demo/. For another host (the SAM stack's S3 bucket), set
// VITE_BASE=/ and VITE_TALLY_API / VITE_TALLY_SITE / VITE_TALLY_API_KEY.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: process.env.VITE_BASE ?? '/demo/',
  esbuild: { jsx: 'automatic' },
  resolve: { alias: { '@tally/react': here('../react/src/index.ts') } },
  build: {
    outDir: process.env.TALLY_DEMO_OUT ?? here('../dist/demo'),
    emptyOutDir: true,
    assetsDir: 'assets',
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
