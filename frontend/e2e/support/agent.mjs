// The real local agent (python -m aiclone_agent serve) on a free port with a throw-away data dir.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PYTHON, REPO, TEST_MODEL } from './paths.mjs'
import { ServerProcess, freePort, waitHttpOk } from './processes.mjs'

const START_TIMEOUT_MS = 90_000

export async function startAgent(workDir, { gateway, lan = false, telegramApiUrl = null } = {}) {
  const port = await freePort()
  const lanPort = lan ? await freePort() : null
  const dir = path.join(workDir, 'agent')
  mkdirSync(dir, { recursive: true })
  const config = path.join(dir, 'config.yaml')
  const lines = [
    'clone: {id: e2e-clone, name: E2E Clone, system_prompt: You are a helpful AI clone. Answer briefly.}',
    `model: {base_model_path: ${JSON.stringify(TEST_MODEL)}, n_ctx: 2048, max_tokens: 32, temperature: 0.0}`,
  ]
  if (lanPort) lines.push(`lan: {enabled: true, host: 127.0.0.1, port: ${lanPort}}`)
  if (gateway) lines.push(`gateway: {url: ${JSON.stringify(gateway.url)}, agent_token: ${JSON.stringify(gateway.agentToken)}}`)
  // where the bot's token is checked (getMe): a port nothing listens on makes an unreachable Bot API
  if (telegramApiUrl) lines.push(`messengers: {telegram: {api_url: ${JSON.stringify(telegramApiUrl)}}}`)
  writeFileSync(config, `${lines.join('\n')}\n`)
  const server = new ServerProcess('agent', PYTHON, ['-m', 'aiclone_agent', 'serve'], {
    cwd: REPO,
    env: {
      AICLONE_CONFIG: config,
      AICLONE_DATA_DIR: path.join(dir, 'data'),
      AICLONE_PORT: String(port),
      AICLONE_OVERVIEW_INTERVAL_S: '1', // the overview page's charts fill within seconds
    },
    logFile: path.join(workDir, 'agent.log'),
  })
  const url = `http://127.0.0.1:${port}`
  const agent = {
    url,
    port,
    // the LAN listener (chat page and OpenAI API for LAN token holders), when started with lan
    lanUrl: lanPort ? `http://127.0.0.1:${lanPort}` : null,
    async start() {
      server.start()
      await waitHttpOk(`${url}/healthz`, START_TIMEOUT_MS, 'the agent to start (see agent.log)')
    },
    stop: () => server.stop(),
  }
  await agent.start()
  return agent
}
