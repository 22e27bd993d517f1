import { describe, expect, it } from 'vitest'
import { backoffDelay } from './useChatConnection'

describe('backoffDelay', () => {
  it('grows exponentially with jitter and is capped', () => {
    expect(backoffDelay(0, () => 0)).toBe(250)
    expect(backoffDelay(0, () => 1)).toBe(500)
    expect(backoffDelay(3, () => 1)).toBe(4000)
    expect(backoffDelay(20, () => 1)).toBe(15_000)
    expect(backoffDelay(20, () => 0)).toBe(7500)
  })
})
