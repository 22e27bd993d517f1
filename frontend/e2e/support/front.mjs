// What nginx does in production, for the tests: serves the built chat (frontend/dist/chat, SPA
// fallback) and passes /api, /ws, /v1 and /healthz (HTTP, SSE and WebSocket) to the gateway.
import { createReadStream, existsSync, statSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { FRONTEND } from './paths.mjs'

const ROOT = path.join(FRONTEND, 'dist', 'chat')
const PROXIED = /^\/(api|ws|v1|agent)\/|^\/healthz$/
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.json': 'application/json', '.webmanifest': 'application/manifest+json',
}

function serveStatic(request, response) {
  const pathname = decodeURIComponent(new URL(request.url, 'http://x').pathname)
  let file = path.join(ROOT, path.normalize(pathname))
  if (!file.startsWith(ROOT) || !existsSync(file) || !statSync(file).isFile()) file = path.join(ROOT, 'index.html')
  const immutable = file.includes(`${path.sep}assets${path.sep}`)
  response.writeHead(200, {
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  })
  createReadStream(file).pipe(response)
}

export async function startFront(port, gatewayPort) {
  if (!existsSync(path.join(ROOT, 'index.html'))) throw new Error('frontend/dist/chat is not built: run ./scripts/build_frontend.sh')
  const server = http.createServer((request, response) => {
    if (!PROXIED.test(request.url)) return serveStatic(request, response)
    const upstream = http.request(
      { host: '127.0.0.1', port: gatewayPort, path: request.url, method: request.method, headers: request.headers },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers)
        reply.pipe(response)
      },
    )
    upstream.on('error', () => response.destroy())
    // A browser that goes away (Stop on the SSE fallback) closes the gateway's stream too.
    response.on('close', () => upstream.destroy())
    request.pipe(upstream)
  })
  server.on('upgrade', (request, socket, head) => {
    const upstream = net.connect(gatewayPort, '127.0.0.1', () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`]
      for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`)
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      upstream.write(head)
      socket.pipe(upstream).pipe(socket)
    })
    const close = () => {
      socket.destroy()
      upstream.destroy()
    }
    upstream.on('error', close)
    socket.on('error', close)
  })
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
