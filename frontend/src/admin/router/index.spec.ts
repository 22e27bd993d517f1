import { beforeEach, describe, expect, it } from 'vitest'
import { createMemoryHistory } from 'vue-router'
import { createAdminRouter } from './index'

describe('admin router', () => {
  beforeEach(() => localStorage.clear())

  it('opens on the home checklist, not on the persona', async () => {
    const router = createAdminRouter(createMemoryHistory())
    await router.push('/')
    expect(router.currentRoute.value.name).toBe('home')
  })

  it('puts a conversation in the address and reopens the last one on /chat', async () => {
    const router = createAdminRouter(createMemoryHistory())
    await router.push('/chat/conv-7')
    expect(router.currentRoute.value.params.id).toBe('conv-7')
    localStorage.setItem('aiclone.admin.conversation', 'conv-7')
    await router.push('/persona')
    await router.push('/chat')
    expect(router.currentRoute.value.fullPath).toBe('/chat/conv-7')
    // "New chat" inside the chat stays on /chat (the reopening is for entering the chat) ...
    await router.push('/chat')
    expect(router.currentRoute.value.fullPath).toBe('/chat')
    // ... and with nothing remembered, entering the chat is a fresh one
    localStorage.clear()
    await router.push('/persona')
    await router.push('/chat')
    expect(router.currentRoute.value.fullPath).toBe('/chat')
  })
})
