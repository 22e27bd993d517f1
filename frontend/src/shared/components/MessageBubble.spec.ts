import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import MessageBubble from './MessageBubble.vue'
import type { ChatMessage } from '../types/chat'

const assistant = (patch: Partial<ChatMessage>): ChatMessage => ({
  key: 'k', role: 'assistant', content: '', status: 'done', sources: [], ...patch,
})

describe('MessageBubble', () => {
  it('renders assistant markdown and its sources', () => {
    const wrapper = mount(MessageBubble, {
      props: { message: assistant({ content: '**Yes**', sources: [{ document_id: 'd', document_name: 'cv.md', chunk_index: 1 }] }) },
    })
    expect(wrapper.find('strong').text()).toBe('Yes')
    expect(wrapper.find('[data-test=sources]').text()).toContain('cv.md')
    expect(wrapper.find('[data-test=sources]').text()).toContain('#2')
  })

  it('renders a hostile answer inert', () => {
    const wrapper = mount(MessageBubble, {
      props: { message: assistant({ content: '<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(1)</script>' }) },
    })
    expect(wrapper.find('img').exists()).toBe(false)
    expect(wrapper.find('script').exists()).toBe(false)
    for (const element of wrapper.findAll('*')) {
      expect(Object.keys(element.attributes()).filter((name) => name.startsWith('on'))).toEqual([])
      expect(element.attributes('href') ?? '').not.toMatch(/^javascript:/i)
    }
    expect(wrapper.text()).toContain('<script>alert(1)</script>') // shown as text, not run
  })

  it('shows user text as plain text', () => {
    const wrapper = mount(MessageBubble, { props: { message: { ...assistant({}), role: 'user', content: '<b>hi</b>' } } })
    expect(wrapper.find('b').exists()).toBe(false)
    expect(wrapper.text()).toBe('<b>hi</b>')
  })

  it('tells the user a pending question will be answered later', () => {
    const wrapper = mount(MessageBubble, { props: { message: assistant({ status: 'pending' }) } })
    expect(wrapper.find('[data-test=pending]').exists()).toBe(true)
    expect(wrapper.attributes('data-status')).toBe('pending')
  })

  it('shows errors', () => {
    const wrapper = mount(MessageBubble, { props: { message: assistant({ status: 'error', error: 'boom' }) } })
    expect(wrapper.find('[role=alert]').text()).toContain('boom')
  })
})
