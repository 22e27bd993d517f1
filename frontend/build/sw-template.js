/* AI Clone chat service worker: an offline app shell. Never caches the API or the chat socket. */
const VERSION = __VERSION__
const PRECACHE = __PRECACHE__
const SHELL_CACHE = `aiclone-shell-${VERSION}`
const STATIC_FILES = ['/manifest.webmanifest', '/icons/icon-192.png', '/icons/icon-512.png', '/icons/icon.svg']

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll([...PRECACHE, ...STATIC_FILES]))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith('aiclone-shell-') && key !== SHELL_CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  )
})

function isApi(url) {
  return url.pathname.startsWith('/api/') || url.pathname.startsWith('/ws/') || url.pathname.startsWith('/v1/')
}

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== self.location.origin || isApi(url)) return

  if (request.mode === 'navigate') {
    // Network first so a new release shows at once; the cached shell when offline.
    event.respondWith(fetch(request).catch(() => caches.match('/', { cacheName: SHELL_CACHE })))
    return
  }
  // Hashed assets and icons: cache first.
  event.respondWith(caches.match(request, { cacheName: SHELL_CACHE }).then((hit) => hit || fetch(request)))
})
