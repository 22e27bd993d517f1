// Accessibility checks with axe-core (WCAG 2 A/AA rules) injected into the page under test.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

/** Fails on any serious or critical axe violation; returns all violations for the record. */
export async function assertAccessible(page, label) {
  await page.addScriptTag({ path: AXE })
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
  })
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  assert.deepEqual(serious, [], `${label}: serious accessibility violations`)
  return violations
}
