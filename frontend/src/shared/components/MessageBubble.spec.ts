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
    expect(wrapper.find('[data-test=sources]').text()).toContain('part 2')
  })

  it('opens a cited passage: its text, document and position', async () => {
    const source = { document_id: 'd', document_name: 'faq.md', chunk_index: 0, start: 10, end: 42, text: 'Lamps carry a 36-month warranty.' }
    const wrapper = mount(MessageBubble, { props: { message: assistant({ content: 'Three years.', sources: [source] }) } })
    const details = wrapper.find('[data-test=source]')
    expect((details.element as HTMLDetailsElement).open).toBe(false)
    await details.find('summary').trigger('click')
    ;(details.element as HTMLDetailsElement).open = true
    expect(wrapper.find('[data-test=source-text]').text()).toBe('Lamps carry a 36-month warranty.')
    expect(wrapper.find('[data-test=source-body]').text()).toContain('characters 10–42')
  })

  it('says it is thinking until the first token, then shows the text', async () => {
    const wrapper = mount(MessageBubble, { props: { message: assistant({ status: 'streaming' }) } })
    expect(wrapper.find('[data-test=thinking]').exists()).toBe(true)
    await wrapper.setProps({ message: assistant({ status: 'streaming', content: 'Hi' }) })
    expect(wrapper.find('[data-test=thinking]').exists()).toBe(false)
    expect(wrapper.text()).toContain('Hi')
  })

  it('offers regenerate on answers and edit on questions, and resends the edited text', async () => {
    const answer = mount(MessageBubble, { props: { message: assistant({ content: 'Yes' }), actions: true, canRegenerate: true } })
    await answer.find('[data-test=regenerate]').trigger('click')
    expect(answer.emitted('regenerate')).toHaveLength(1)
    const question = mount(MessageBubble, {
      props: { message: { ...assistant({}), role: 'user', content: 'old' }, actions: true, canRegenerate: true },
    })
    await question.find('[data-test=edit]').trigger('click')
    await question.find('[data-test=edit-input]').setValue('new question')
    await question.find('form').trigger('submit')
    expect(question.emitted('edit')).toEqual([['new question']])
    expect(mount(MessageBubble, { props: { message: assistant({ content: 'x' }) } }).find('[data-test=regenerate]').exists()).toBe(false)
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
