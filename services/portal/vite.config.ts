import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The portal is served by the gateway under /portal (static files, SPA fallback): built once, no dev server needed.
export default defineConfig({
  base: '/portal/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
});
