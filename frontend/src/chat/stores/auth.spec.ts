import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { ApiError } from '@/api/http'
import { useAuthStore } from './auth'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const tokens = (n: number) => ({ access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: 'bearer', expires_in: 900 })

describe('auth store', () => {
  let fetchMock: ReturnType<typeof vi.fn>

  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
  })

  it('logs in, keeps the refresh token across reloads and logs out', async () => {
    fetchMock.mockResolvedValueOnce(json(200, tokens(1))).mockResolvedValueOnce(json(200, { id: 'u1', email: 'a@b.c', role: 'user' }))
    const auth = useAuthStore()
    await auth.login('a@b.c', 'password1')
    expect(auth.isAuthenticated).toBe(true)
    expect(auth.user?.email).toBe('a@b.c')
    expect(localStorage.getItem('aiclone.refresh_token')).toBe('refresh-1')
    expect(new Headers(fetchMock.mock.calls[1][1].headers).get('Authorization')).toBe('Bearer access-1')

    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }))
    await auth.logout()
    expect(auth.isAuthenticated).toBe(false)
    expect(localStorage.getItem('aiclone.refresh_token')).toBeNull()
    expect(JSON.parse(fetchMock.mock.calls[2][1].body)).toEqual({ refresh_token: 'refresh-1' })
  })

  it('refreshes transparently when a call gets 401 and retries it once', async () => {
    localStorage.setItem('aiclone.refresh_token', 'refresh-0')
    const auth = useAuthStore()
    fetchMock.mockResolvedValueOnce(json(200, tokens(1))) // refresh on first use (no access token yet)
    const call = vi.fn()
      .mockRejectedValueOnce(new ApiError(401, 'expired'))
      .mockResolvedValueOnce('ok')
    fetchMock.mockResolvedValueOnce(json(200, tokens(2))) // refresh after the 401
    await expect(auth.withAuth(call)).resolves.toBe('ok')
    expect(call.mock.calls.map((args) => args[0])).toEqual(['access-1', 'access-2'])
    expect(localStorage.getItem('aiclone.refresh_token')).toBe('refresh-2')
  })

  it('shares one refresh between concurrent callers (refresh tokens rotate)', async () => {
    localStorage.setItem('aiclone.refresh_token', 'refresh-0')
    const auth = useAuthStore()
    fetchMock.mockResolvedValue(json(200, tokens(1)))
    const results = await Promise.all([1, 2, 3].map(() => auth.withAuth(async (token) => token)))
    expect(results).toEqual(['access-1', 'access-1', 'access-1'])
    expect(fetchMock).toHaveBeenCalledTimes(1)
  })

  it('ends the session when the refresh token is refused', async () => {
    localStorage.setItem('aiclone.refresh_token', 'stolen-and-reused')
    const auth = useAuthStore()
    fetchMock.mockResolvedValueOnce(json(401, { error: { message: 'refresh token reused', code: 'token_reused' } }))
    await expect(auth.withAuth(async (token) => token)).rejects.toThrow('This sign-in was used elsewhere and is closed for safety. Sign in again.')
    expect(auth.isAuthenticated).toBe(false)
    expect(auth.sessionExpired).toBe(true)
  })
})
