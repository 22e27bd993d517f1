// Emits the chat's service worker (build/sw-template.js) with the list of files the build made,
// so the app shell (index.html + hashed assets + icons) is cached on install and works offline.
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import type { Plugin } from 'vite'

const TEMPLATE = new URL('./sw-template.js', import.meta.url)

export function serviceWorker(): Plugin {
  return {
    name: 'aiclone-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const built = Object.keys(bundle).filter((name) => !name.endsWith('.map'))
      const files = ['/', ...built.filter((name) => name !== 'index.html').map((name) => `/${name}`)]
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12)
      const source = readFileSync(TEMPLATE, 'utf8')
        .replace('__PRECACHE__', JSON.stringify(files))
        .replace('__VERSION__', JSON.stringify(version))
      this.emitFile({ type: 'asset', fileName: 'sw.js', source })
    },
  }
}
