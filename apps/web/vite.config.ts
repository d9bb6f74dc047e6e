import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// `npm run dev -w @pkim/web`: the Vite dev server on :5173 proxying the API to a running `pkim serve`
// (PKIM_API_URL, default http://127.0.0.1:8200). `vite build` writes static files to dist/, which the
// server serves at `/`.
const api = process.env.PKIM_API_URL ?? 'http://127.0.0.1:8200';
const proxied = ['/trpc', '/api', '/crl', '/aia', '/ocsp', '/healthz', '/readyz'];

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    port: 5173,
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: false }])),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
});
