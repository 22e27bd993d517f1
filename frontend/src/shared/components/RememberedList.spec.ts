import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import MessageBubble from './MessageBubble.vue'
import { useI18n } from '../composables/useI18n'

describe('the memories under an answer', () => {
  it('are collapsed, each saying when it was remembered from, and open to the round itself', () => {
    useI18n().setLocale('en')
    const memories = [{ id: 'm_1', text: 'Q: my dog is Rex\nA: Nice!', at: '2026-11-30T18:05:00Z', conversation_id: 'c0', channel: 'web', pinned: false }]
    const wrapper = mount(MessageBubble, {
      props: { message: { key: 'k', role: 'assistant', content: 'Rex!', status: 'done', sources: [], memories } },
    })
    const item = wrapper.find('[data-test=remembered-item]')
    expect((item.element as HTMLDetailsElement).open).toBe(false)
    expect(item.find('summary').text()).toMatch(/^remembered from .*2026/)
    expect(wrapper.find('[data-test=remembered-text]').text()).toBe('Q: my dog is Rex\nA: Nice!')
  })

  it('are not shown when the answer was given none', () => {
    const wrapper = mount(MessageBubble, { props: { message: { key: 'k', role: 'assistant', content: 'Hi', status: 'done', sources: [] } } })
    expect(wrapper.find('[data-test=remembered]').exists()).toBe(false)
  })
})
