// The real gateway (python -m aiclone_gateway serve) on a free loopback port, with its own data
// dir, an agent token for the agent to link with, and the browser origins allowed on /ws/chat.
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { PYTHON, REPO } from './paths.mjs'
import { ServerProcess, freePort, waitHttpOk } from './processes.mjs'

const run = promisify(execFile)

export async function startGateway(workDir, { origin }) {
  const port = await freePort()
  const own = `http://127.0.0.1:${port}`
  const env = {
    ...process.env,
    AICLONE_GATEWAY_HOST: '127.0.0.1',
    AICLONE_GATEWAY_PORT: String(port),
    AICLONE_GATEWAY_DATA_DIR: path.join(workDir, 'gateway', 'data'),
    AICLONE_GATEWAY_ALLOWED_ORIGINS: JSON.stringify([origin, own]),
    AICLONE_GATEWAY_AUTH_RATE_LIMIT: '1000',
    AICLONE_GATEWAY_LOG_LEVEL: 'info',
    AICLONE_GATEWAY_STATS_INTERVAL_S: '1', // the agent's overview page hears from the gateway every second
  }
  const { stdout } = await run(PYTHON, ['-m', 'aiclone_gateway', 'create-agent-token', '--name', 'e2e'], { cwd: REPO, env, timeout: 60_000 })
  const agentToken = stdout.trim().split('\n').at(-1)
  const server = new ServerProcess('gateway', PYTHON, ['-m', 'aiclone_gateway', 'serve'], {
    cwd: REPO,
    env,
    logFile: path.join(workDir, 'gateway.log'),
  }).start()
  const url = own
  await waitHttpOk(`${url}/healthz`, 60_000, 'the gateway to start (see gateway.log)')
  const home = await fetch(`${url}/`).then((r) => (r.ok ? r.text() : '')).catch(() => '')
  return { url, port, agentToken, servesChat: home.includes('<div id="app">'), stop: () => server.stop() }
}

/** The first account (the owner), keeping sign-up open for the other tests. */
export async function registerOwner(url) {
  const owner = { email: `owner-${Date.now()}@example.com`, password: 'owner-password-42' }
  const response = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...owner, registration: 'open' }),
  })
  if (response.status !== 201) throw new Error(`the owner could not sign up: ${response.status} ${await response.text()}`)
  return owner
}
