import { describe, expect, it } from 'vitest'
import { renderMarkdown } from './markdown'

// Model output an attacker could steer a model into producing.
const XSS_CORPUS = [
  '<script>window.__xss = 1</script>',
  '<img src=x onerror="window.__xss = 1">',
  '<svg onload="window.__xss = 1"></svg>',
  '<iframe src="javascript:window.__xss = 1"></iframe>',
  '[click](javascript:window.__xss=1)',
  '[click](JaVaScRiPt:window.__xss=1)',
  '[click](  javascript:window.__xss=1)',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![img](javascript:window.__xss=1)',
  '<a href="javascript:window.__xss=1">raw link</a>',
  '<div style="background:url(javascript:alert(1))">styled</div>',
  '<details open ontoggle="window.__xss=1">',
  '[x](vbscript:msgbox(1))',
  '<math><mi xlink:href="javascript:alert(1)">m</mi></math>',
]

function parse(html: string): HTMLElement {
  const host = document.createElement('div')
  host.innerHTML = html
  return host
}

describe('renderMarkdown', () => {
  it('renders ordinary markdown', () => {
    const host = parse(renderMarkdown('**bold** and `code`\n\n- one\n- two\n\n[site](https://example.com)'))
    expect(host.querySelector('strong')?.textContent).toBe('bold')
    expect(host.querySelector('code')?.textContent).toBe('code')
    expect(host.querySelectorAll('li')).toHaveLength(2)
    const link = host.querySelector('a')!
    expect(link.getAttribute('href')).toBe('https://example.com')
    expect(link.getAttribute('rel')).toContain('noopener')
    expect(link.getAttribute('target')).toBe('_blank')
  })

  it.each(XSS_CORPUS)('renders %s inert', (source) => {
    const host = parse(renderMarkdown(source))
    expect(host.querySelector('script, iframe, object, embed, svg, math, style')).toBeNull()
    for (const element of Array.from(host.querySelectorAll('*'))) {
      for (const attribute of Array.from(element.attributes)) {
        expect(attribute.name.startsWith('on')).toBe(false)
        expect(attribute.name).not.toBe('style')
        expect(attribute.value.replace(/\s/g, '').toLowerCase()).not.toMatch(/^(javascript|vbscript|data:text):?/)
      }
    }
  })

  it('shows raw HTML as text instead of dropping what the model said', () => {
    const host = parse(renderMarkdown('<b>not bold</b>'))
    expect(host.querySelector('b')).toBeNull()
    expect(host.textContent).toContain('<b>not bold</b>')
  })
})
