import { defineConfig } from 'vite';

// The web page lives in web/ and is built into dist/web, which the server serves at /.
export default defineConfig({
  root: 'web',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:4000',
      '/socket': { target: 'ws://127.0.0.1:4000', ws: true },
    },
  },
});
