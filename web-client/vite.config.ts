import { defineConfig } from 'vite'

// `npm run dev` proxies the API and the sync socket to a local `easel serve`.
const backend = process.env.EASEL_BACKEND ?? 'http://127.0.0.1:8080'

export default defineConfig({
  build: { outDir: 'dist', sourcemap: true, target: 'es2022', chunkSizeWarningLimit: 700 },
  server: {
    proxy: {
      '/api': backend,
      '/sync': { target: backend, ws: true },
    },
  },
})
