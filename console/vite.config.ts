// The web console's build (`npm run build`): console/ -> dist/console/, served by the service at
// /console (src/api/console.ts). Preact's JSX through Vite's own transform; no plugin, no CDN.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/console/',
  // The console has no static files of its own besides index.html.
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/console'),
    // dist/console lies outside the root: Vite empties it only when told to.
    emptyOutDir: true,
    // The strict Content-Security-Policy allows no inline script; a polyfill would only serve old browsers.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  logLevel: 'warn',
});
