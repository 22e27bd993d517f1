// Model output -> safe HTML. markdown-it with raw HTML off (tags show as text), then DOMPurify
// as a second wall: no scripts, no event handlers, no javascript:/data: links.
import MarkdownIt from 'markdown-it'
import DOMPurify from 'dompurify'

const markdown = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false })

const SAFE_URL = /^(?:https?:|mailto:|#|\/(?!\/))/i

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href') ?? ''
    if (!SAFE_URL.test(href.trim())) node.removeAttribute('href')
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer nofollow')
  }
  if (node.tagName === 'IMG') {
    // No remote images from model output: they could track the reader.
    const src = node.getAttribute('src') ?? ''
    if (!src.startsWith('data:image/') && !src.startsWith('/')) node.removeAttribute('src')
  }
})

const PURIFY_CONFIG = {
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
  FORBID_ATTR: ['style'],
  ADD_ATTR: ['target'],
}

export function renderMarkdown(source: string): string {
  return DOMPurify.sanitize(markdown.render(source), PURIFY_CONFIG) as string
}
