// Markup a model (or an uploader) could produce to run script in the reader's browser.
import assert from 'node:assert/strict'

export const XSS_CORPUS = [
  '<script>window.__xss = 1</script>',
  '<img src=x onerror="window.__xss=1">',
  '<svg/onload=window.__xss=1>',
  '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  '[click me](javascript:window.__xss=1)',
  '[data link](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3M9MTwvc2NyaXB0Pg==)',
  '![pic](javascript:window.__xss=1)',
  '<a href="javascript:window.__xss=1">raw link</a>',
  '<details open ontoggle="window.__xss=1">x</details>',
  '<style>body{display:none}</style>',
]

/** No script ran, and nothing in the page could run any. */
export async function assertInert(page) {
  const report = await page.evaluate(() => {
    const bad = []
    for (const element of document.querySelectorAll('#app *')) {
      if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'STYLE'].includes(element.tagName)) bad.push(element.outerHTML)
      for (const attribute of element.attributes) {
        if (attribute.name.startsWith('on')) bad.push(`${element.tagName} ${attribute.name}`)
        if (/^\s*(javascript|vbscript|data):/i.test(attribute.value) && ['href', 'src', 'xlink:href', 'action'].includes(attribute.name)) {
          bad.push(`${element.tagName} ${attribute.name}=${attribute.value}`)
        }
      }
    }
    return { xss: window.__xss ?? null, bad }
  })
  assert.deepEqual(report, { xss: null, bad: [] })
  assert.deepEqual(page.dialogs, [])
}
