// Layout checks for narrow screens (issue 25): nothing sticks out sideways, no text overflows or
// is clipped by its box, no word is broken in the middle, tables stack as labelled cards.
// Each check runs in the page and returns a list of problems (empty: the page is fine), so a
// failing test says which element and which word.

/** Everything that makes a page wider than the screen or hides part of a text. */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = []
    const root = document.documentElement
    if (root.scrollWidth > window.innerWidth + 1) problems.push(`the page scrolls sideways: ${root.scrollWidth} > ${window.innerWidth}`)
    // Boxes whose own job is to scroll or to hold code/secrets are allowed to be wider inside.
    const exempt = 'pre, code, svg, select, textarea, input, .visually-hidden, .secret-value, .uplot'
    const describe = (el) => `${el.tagName.toLowerCase()}${el.dataset.test ? `[data-test=${el.dataset.test}]` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest(exempt)) continue
      const style = getComputedStyle(el)
      if (style.display === 'none' || style.display === 'contents' || el.clientWidth === 0) continue
      if (!el.textContent.trim()) continue
      const rect = el.getBoundingClientRect()
      if (rect.width === 0 || rect.height === 0) continue
      if (rect.right > window.innerWidth + 1 && style.position !== 'fixed' && !el.closest('[aria-hidden=true]')) {
        problems.push(`${describe(el)} sticks out of the screen (right edge ${Math.round(rect.right)} px): "${el.textContent.trim().slice(0, 40)}"`)
      }
      const scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll'
      if (!scrolls && el.scrollWidth > el.clientWidth + 1) {
        problems.push(`${describe(el)} is narrower than its text (${el.scrollWidth} > ${el.clientWidth}): "${el.textContent.trim().slice(0, 40)}"`)
      }
      if (style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth) problems.push(`${describe(el)} is cut with an ellipsis`)
    }
    return problems
  })
}

/** Words of running text (letters only, as a dictionary has them) that a line break cut in two.
 * Addresses, e-mails, tokens and code may break anywhere: they have no letters-only words to cut. */
export async function brokenWords(page) {
  return page.evaluate(() => {
    const broken = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    const range = document.createRange()
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement
      if (!parent || parent.closest('pre, code, script, style, .visually-hidden, .secret-value, option, [aria-hidden=true]')) continue
      if (!parent.getClientRects().length) continue
      for (const match of node.data.matchAll(/\S+/g)) {
        const word = match[0].replace(/^[(«"'“]+|[).,:;!?»"'”…]+$/g, '')
        if (!/^\p{L}{2,}$/u.test(word)) continue
        const start = match.index + match[0].indexOf(word)
        range.setStart(node, start)
        range.setEnd(node, start + word.length)
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)))
        if (lines.size > 1) broken.push(word)
      }
    }
    return broken
  })
}

/** Cells of the page's tables that lose their column's name when the table stacks on a phone. */
export async function unlabelledCells(page) {
  return page.evaluate(() => {
    const problems = []
    for (const table of document.querySelectorAll('table')) {
      // a header that is only read aloud (the actions column) asks for no label
      const headers = [...table.querySelectorAll('thead th')].map((th) => (th.querySelector('.visually-hidden') ? '' : th.textContent.trim()))
      const headVisible = table.tHead && getComputedStyle(table.tHead).display !== 'none'
      for (const row of table.querySelectorAll('tbody tr')) {
        ;[...row.cells].forEach((cell, i) => {
          if (!cell.textContent.trim() || headVisible) return
          const label = getComputedStyle(cell, '::before').content
          const expected = headers[i]
          if (!expected) return // an actions column: its buttons say what they do
          if (!label.includes(expected)) problems.push(`a "${cell.textContent.trim().slice(0, 30)}" cell has no "${expected}" label (::before ${label})`)
        })
      }
    }
    return problems
  })
}
