// Starting and stopping the real servers the end-to-end tests drive, with bounded waits.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import net from 'node:net'

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export async function waitFor(check, { timeoutMs, intervalMs = 250, what }) {
  const deadline = Date.now() + timeoutMs
  let lastError
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (error) {
      lastError = error
    }
    await sleep(intervalMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${lastError.message})` : ''}`)
}

// Children still running when the test process ends (a failed setup, Ctrl-C) are killed with it.
const running = new Set()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130))

/** A child process whose output goes to a log file; stop() sends SIGTERM, then SIGKILL. */
export class ServerProcess {
  constructor(name, command, args, { env, cwd, logFile }) {
    this.name = name
    this.command = command
    this.args = args
    this.options = { env: { ...process.env, ...env }, cwd }
    this.logFile = logFile
    this.child = null
  }

  start() {
    const log = createWriteStream(this.logFile, { flags: 'a' })
    const child = spawn(this.command, this.args, { ...this.options, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    child.stdout.pipe(log)
    child.stderr.pipe(log)
    running.add(child)
    this.exited = new Promise((resolve) => child.once('exit', (code) => {
      running.delete(child)
      resolve(code)
    }))
    return this
  }

  async stop(timeoutMs = 10_000) {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)])
    if (!done) {
      child.kill('SIGKILL')
      await this.exited
    }
    this.child = null
  }
}

export async function waitHttpOk(url, timeoutMs, what = url) {
  await waitFor(async () => (await fetch(url)).ok, { timeoutMs, what })
}
