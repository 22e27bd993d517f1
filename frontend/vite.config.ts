// Two apps, two builds: `vite build --mode chat` -> dist/chat (served by the gateway at /),
// `vite build --mode admin` -> dist/admin (served by the agent at / on localhost:3000).
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { VitePWA } from 'vite-plugin-pwa'

const APPS = ['chat', 'admin'] as const
type App = (typeof APPS)[number]

// Dev servers proxy the API of the program that serves each app in production.
const DEV_BACKEND: Record<App, string> = {
  chat: process.env.AICLONE_GATEWAY_URL ?? 'http://127.0.0.1:8000',
  admin: process.env.AICLONE_AGENT_URL ?? 'http://127.0.0.1:3000',
}

/** The chat's service worker (Workbox, through vite-plugin-pwa): the app shell (index.html, the
 * hashed assets, the manifest and icons) is precached on install; a page load goes to the network
 * first, so a new release shows at once, and falls back to the cached shell offline. The API and
 * the chat socket are never cached. src/chat/registerServiceWorker.ts registers it; the manifest is
 * chat/public/manifest.webmanifest. */
function offlineShell() {
  return VitePWA({
    injectRegister: false,
    manifest: false,
    filename: 'sw.js',
    workbox: {
      globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
      navigateFallback: null,
      inlineWorkboxRuntime: true,
      cleanupOutdatedCaches: true,
      clientsClaim: true,
      skipWaiting: true,
      runtimeCaching: [
        {
          urlPattern: ({ request }) => request.mode === 'navigate',
          handler: 'NetworkOnly',
          options: { precacheFallback: { fallbackURL: '/index.html' } },
        },
      ],
    },
  })
}

export default defineConfig(({ mode }) => {
  const app: App = mode === 'admin' ? 'admin' : 'chat'
  const backend = DEV_BACKEND[app]
  return {
    root: fileURLToPath(new URL(`./${app}`, import.meta.url)),
    base: '/',
    plugins: app === 'chat' ? [vue(), offlineShell()] : [vue()],
    resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
    // vue-i18n's build flags: the Composition API only (no legacy API), no devtools hooks in production
    define: { __VUE_I18N_FULL_INSTALL__: 'false', __VUE_I18N_LEGACY_API__: 'false', __INTLIFY_PROD_DEVTOOLS__: 'false' },
    build: {
      outDir: fileURLToPath(new URL(`./dist/${app}`, import.meta.url)),
      emptyOutDir: true,
      target: 'es2022',
    },
    server: {
      proxy: {
        '/api': backend,
        '/metrics': backend,
        '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
      },
    },
  }
})
