// End-to-end tests against the real servers: the gateway, which serves the built public chat itself
// (GET /, api/public_chat.py), and the agent linked to it (admin panel, LAN listener). Should the
// gateway's / not be the built app, support/front.mjs stands in for nginx (static files + proxy).
// Browser: Debian's Chromium via playwright-core. Run: npm --prefix frontend run test:e2e
// Screenshots: test-output/screenshots/. Server logs: test-output/e2e-logs/.
import { mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { after, before } from 'node:test'
import { adminTests } from './admin.spec.mjs'
import { chatTests } from './chat.spec.mjs'
import { documentVisibilityTests } from './docvis.spec.mjs'
import { chatuxTests } from './chatux.spec.mjs'
import { engineTests } from './engine.spec.mjs'
import { errorTests } from './errors.spec.mjs'
import { lanTests } from './lan.spec.mjs'
import { memoryTests } from './memory.spec.mjs'
import { mobileTests } from './mobile.spec.mjs'
import { overviewTests } from './overview.spec.mjs'
import { ownerTests } from './owner.spec.mjs'
import { startAgent } from './support/agent.mjs'
import { launchBrowser } from './support/browser.mjs'
import { startFront } from './support/front.mjs'
import { registerOwner, startGateway } from './support/gateway.mjs'
import { OUTPUT, SCREENSHOTS } from './support/paths.mjs'
import { freePort } from './support/processes.mjs'

const ctx = { browser: null, agent: null, gateway: null, front: null, owner: null, workDir: path.join(OUTPUT, 'e2e-logs') }

before(async () => {
  rmSync(ctx.workDir, { recursive: true, force: true })
  rmSync(SCREENSHOTS, { recursive: true, force: true })
  mkdirSync(ctx.workDir, { recursive: true })
  const browser = launchBrowser()
  const frontPort = await freePort()
  ctx.gateway = await startGateway(ctx.workDir, { origin: `http://127.0.0.1:${frontPort}` })
  // The gateway serves frontend/dist/chat itself; the stand-in front is only for a gateway that does not.
  ctx.front = ctx.gateway.servesChat ? { url: ctx.gateway.url, stop: async () => undefined } : await startFront(frontPort, ctx.gateway.port)
  // The gateway's first account owns it; made here so every test's sign-ups are plain users.
  ctx.owner = await registerOwner(ctx.gateway.url)
  const unreachable = `http://127.0.0.1:${await freePort()}` // the Telegram Bot API, as when the PC is offline
  ctx.agent = await startAgent(ctx.workDir, { gateway: { url: ctx.gateway.url, agentToken: ctx.gateway.agentToken }, lan: true, telegramApiUrl: unreachable })
  ctx.browser = await browser
}, { timeout: 180_000 })

after(async () => {
  await Promise.allSettled([ctx.browser?.close(), ctx.agent?.stop(), ctx.gateway?.stop(), ctx.front?.stop()])
}, { timeout: 30_000 })

adminTests(ctx)
engineTests(ctx)
chatTests(ctx)
ownerTests(ctx)
overviewTests(ctx)
lanTests(ctx)
memoryTests(ctx)
documentVisibilityTests(ctx)
mobileTests(ctx)
chatuxTests(ctx)
errorTests(ctx)
