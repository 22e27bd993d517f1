// Registers the offline app shell (sw.js is Workbox's, emitted by vite-plugin-pwa in the build; absent in `vite dev`).
export function registerServiceWorker() {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined)
  })
}
