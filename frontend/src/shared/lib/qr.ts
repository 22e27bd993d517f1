// QR codes drawn as one SVG path (qrcode-generator makes the matrix; no markup from a library,
// no canvas): a phone scans the LAN chat's address instead of someone typing a long token.
import qrcode from 'qrcode-generator'

export interface QrMatrix {
  /** modules per side, the quiet zone included */
  size: number
  /** the dark modules as an SVG path, one unit per module */
  path: string
}

const QUIET_ZONE = 4 // modules of margin the standard asks for

/** The QR code of ``text`` (byte mode, UTF-8, error correction M, smallest version that fits). */
export function qrMatrix(text: string): QrMatrix {
  const code = qrcode(0, 'M')
  code.addData(unescape(encodeURIComponent(text))) // UTF-8 bytes, as scanners read byte mode
  code.make()
  const count = code.getModuleCount()
  const parts: string[] = []
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) parts.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`)
    }
  }
  return { size: count + 2 * QUIET_ZONE, path: parts.join('') }
}
