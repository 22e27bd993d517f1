import { describe, expect, it } from 'vitest'
import { qrMatrix } from './qr'

describe('QR codes', () => {
  it('draws the smallest code that holds the text, with its quiet zone and finder patterns', () => {
    const short = qrMatrix('http://192.168.1.20:3080/')
    expect(short.size).toBe(25 + 8) // version 2 (25 modules, 26 bytes at level M) for 25 bytes, plus 4 each side
    // the top-left finder pattern: its 7x7 dark ring starts just inside the quiet zone
    expect(short.path.startsWith('M4 4h1v1h-1zM5 4h1v1h-1z')).toBe(true)
    const token = qrMatrix(`http://192.168.1.20:3080/#token=${'x'.repeat(700)}`)
    expect(token.size).toBeGreaterThan(short.size) // a LAN token fits, in a larger code
  })
})
