// The account pages: API keys and LAN tokens (any user); the owner's agent tokens, users, who may
// sign up and invite links.
// A created secret (key, token, invite link) is kept only until the page is left: shown once.
import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { gatewayApi, type AccountUser, type AgentFingerprint, type AgentToken, type ApiKey, type Invite, type LanToken, type RegistrationMode } from '@/api/gateway'
import { useAuthStore } from './auth'

export interface Secret { kind: 'key' | 'token' | 'invite' | 'lan'; value: string }

const FINGERPRINT_FIELDS = ['model', 'adapter', 'persona', 'documents'] as const
export type FingerprintField = (typeof FINGERPRINT_FIELDS)[number]

/** What the linked agents serve differently (several PCs of one clone should answer alike). */
export function differingFingerprints(tokens: AgentToken[]): FingerprintField[] {
  const prints = tokens.filter((t) => t.linked && t.fingerprint).map((t) => t.fingerprint as AgentFingerprint)
  return FINGERPRINT_FIELDS.filter((field) => new Set(prints.map((p) => p[field])).size > 1)
}

export const useOwnerStore = defineStore('owner', () => {
  const auth = useAuthStore()
  const apiKeys = ref<ApiKey[]>([])
  const agentTokens = ref<AgentToken[]>([])
  const lanTokens = ref<LanToken[]>([])
  const lanUrl = ref<string | null>(null)
  const users = ref<AccountUser[]>([])
  const invites = ref<Invite[]>([])
  const mode = ref<RegistrationMode | null>(null)
  const secret = ref<Secret | null>(null)
  const error = ref<string | null>(null)
  const agentsDiffer = computed(() => differingFingerprints(agentTokens.value))

  async function run<T>(call: (token: string) => Promise<T>): Promise<T | undefined> {
    error.value = null
    try {
      return await auth.withAuth(call)
    } catch (cause) {
      error.value = cause instanceof Error ? cause.message : String(cause)
      return undefined
    }
  }

  async function loadKeys() {
    apiKeys.value = (await run(gatewayApi.apiKeys)) ?? apiKeys.value
  }
  async function createKey(name: string) {
    const created = await run((token) => gatewayApi.createApiKey(token, name))
    if (created) {
      secret.value = { kind: 'key', value: created.key }
      await loadKeys()
    }
  }
  async function revokeKey(id: string) {
    await run((token) => gatewayApi.revokeApiKey(token, id))
    await loadKeys()
  }

  async function loadLanTokens() {
    lanTokens.value = (await run(gatewayApi.lanTokens)) ?? lanTokens.value
    // unknown rather than an error: an older gateway has no address to give
    lanUrl.value = await auth.withAuth(gatewayApi.lanAddress).then((found) => found.url, () => null)
  }
  async function createLanToken(name: string) {
    const created = await run((token) => gatewayApi.createLanToken(token, name))
    if (created) {
      secret.value = { kind: 'lan', value: created.token }
      await loadLanTokens()
    }
  }
  async function revokeLanToken(id: string) {
    await run((token) => gatewayApi.revokeLanToken(token, id))
    await loadLanTokens()
  }

  async function loadOwner() {
    const [tokens, people, registration, links] = await Promise.all([
      run(gatewayApi.agentTokens),
      run(gatewayApi.users),
      run(gatewayApi.registration),
      run(gatewayApi.invites),
    ])
    agentTokens.value = tokens ?? agentTokens.value
    users.value = people ?? users.value
    mode.value = registration?.mode ?? mode.value
    invites.value = links ?? invites.value
  }
  /** The agents' live numbers (load, tokens per second) change all the time: the page refreshes them. */
  async function refreshAgents() {
    agentTokens.value = (await run(gatewayApi.agentTokens)) ?? agentTokens.value
  }
  async function createAgentToken(name: string) {
    const created = await run((token) => gatewayApi.createAgentToken(token, name))
    if (created) {
      // the gateway's address and the token in one line: the agent's Gateway page takes it whole
      secret.value = { kind: 'token', value: created.pairing }
      agentTokens.value = (await run(gatewayApi.agentTokens)) ?? agentTokens.value
    }
  }
  async function revokeAgentToken(id: string) {
    await run((token) => gatewayApi.revokeAgentToken(token, id))
    agentTokens.value = (await run(gatewayApi.agentTokens)) ?? agentTokens.value
  }
  async function setUserRole(id: string, role: 'user' | 'blocked') {
    const saved = await run((token) => gatewayApi.setUserRole(token, id, role))
    if (saved) users.value = users.value.map((u) => (u.id === id ? saved : u))
  }
  async function deleteUser(id: string) {
    await run((token) => gatewayApi.deleteUser(token, id))
    users.value = (await run(gatewayApi.users)) ?? users.value
  }
  async function setMode(next: RegistrationMode): Promise<boolean> {
    const saved = await run((token) => gatewayApi.setRegistration(token, next))
    if (saved) mode.value = saved.mode
    return saved !== undefined
  }
  async function createInvite() {
    const created = await run(gatewayApi.createInvite)
    if (created) {
      secret.value = { kind: 'invite', value: `${globalThis.location.origin}/register?invite=${encodeURIComponent(created.code)}` }
      invites.value = (await run(gatewayApi.invites)) ?? invites.value
    }
  }
  async function revokeInvite(id: string) {
    await run((token) => gatewayApi.revokeInvite(token, id))
    invites.value = (await run(gatewayApi.invites)) ?? invites.value
  }

  return {
    apiKeys, agentTokens, lanTokens, lanUrl, users, invites, mode, secret, error, agentsDiffer,
    loadKeys, createKey, revokeKey, loadLanTokens, createLanToken, revokeLanToken, loadOwner, refreshAgents, createAgentToken, revokeAgentToken, setMode, createInvite, revokeInvite,
    setUserRole, deleteUser,
  }
})
