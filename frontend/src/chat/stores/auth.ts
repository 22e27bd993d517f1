// Gateway session: login/register/logout and transparent token refresh.
// The refresh token survives reloads (localStorage); the access token lives in memory only.
import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { ApiError } from '@/api/http'
import { gatewayApi, type RegisterOptions, type TokenPair, type User } from '@/api/gateway'

const REFRESH_KEY = 'aiclone.refresh_token'
const EXPIRY_MARGIN_MS = 30_000

export type AccountEnd = 'blocked' | 'deleted'

export const useAuthStore = defineStore('auth', () => {
  const accessToken = ref<string | null>(null)
  const accessExpiresAt = ref(0)
  const refreshToken = ref<string | null>(localStorage.getItem(REFRESH_KEY))
  const user = ref<User | null>(null)
  const sessionExpired = ref(false)
  /** The owner closed this account while it was signed in (the chat socket said so). */
  const accountEnded = ref<AccountEnd | null>(null)
  const isAuthenticated = computed(() => refreshToken.value !== null)
  let refreshing: Promise<string> | null = null

  function setTokens(pair: TokenPair) {
    accessToken.value = pair.access_token
    accessExpiresAt.value = Date.now() + pair.expires_in * 1000
    refreshToken.value = pair.refresh_token
    localStorage.setItem(REFRESH_KEY, pair.refresh_token)
    sessionExpired.value = false
    accountEnded.value = null
  }

  /** Signed out by the gateway's owner: nothing here may be retried with these tokens. */
  function endAccount(reason: AccountEnd) {
    clear()
    accountEnded.value = reason
  }

  function clear() {
    accessToken.value = null
    accessExpiresAt.value = 0
    refreshToken.value = null
    user.value = null
    localStorage.removeItem(REFRESH_KEY)
  }

  async function login(email: string, password: string) {
    setTokens(await gatewayApi.login(email, password))
    user.value = await withAuth((token) => gatewayApi.me(token)).catch(() => null)
  }

  async function register(email: string, password: string, options: RegisterOptions = {}) {
    await gatewayApi.register(email, password, options)
    await login(email, password)
  }

  /** Who is signed in (after a reload only the refresh token is known). */
  async function loadUser(): Promise<User | null> {
    if (!user.value && refreshToken.value) user.value = await withAuth((token) => gatewayApi.me(token)).catch(() => null)
    return user.value
  }

  async function logout() {
    const token = refreshToken.value
    clear()
    if (token) await gatewayApi.logout(token).catch(() => undefined)
  }

  /** One refresh at a time: concurrent callers share it (refresh tokens rotate). */
  function refresh(): Promise<string> {
    if (refreshing) return refreshing
    const token = refreshToken.value
    if (!token) return Promise.reject(new ApiError(401, 'not logged in', 'not_authenticated'))
    refreshing = gatewayApi
      .refresh(token)
      .then((pair) => {
        setTokens(pair)
        return pair.access_token
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          clear()
          sessionExpired.value = true
        }
        throw error
      })
      .finally(() => {
        refreshing = null
      })
    return refreshing
  }

  async function validAccessToken(): Promise<string> {
    if (accessToken.value && Date.now() < accessExpiresAt.value - EXPIRY_MARGIN_MS) return accessToken.value
    return refresh()
  }

  /** Runs an authorized call; on a 401 refreshes the tokens once and retries. */
  async function withAuth<T>(call: (accessToken: string) => Promise<T>): Promise<T> {
    const token = await validAccessToken()
    try {
      return await call(token)
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error
      return call(await refresh())
    }
  }

  return {
    accessToken, refreshToken, user, sessionExpired, accountEnded, isAuthenticated,
    login, register, loadUser, logout, refresh, withAuth, endAccount,
  }
})
