import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ChatComposer from './ChatComposer.vue'

describe('ChatComposer', () => {
  it('sends on Enter, trims, clears, and keeps Shift+Enter for new lines', async () => {
    const wrapper = mount(ChatComposer, { props: { busy: false } })
    const input = wrapper.find('textarea')
    await input.setValue('  hello  ')
    await input.trigger('keydown', { key: 'Enter', shiftKey: true })
    expect(wrapper.emitted('send')).toBeUndefined()
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toEqual([['hello']])
    expect((input.element as HTMLTextAreaElement).value).toBe('')
  })

  it('does not send blank text', async () => {
    const wrapper = mount(ChatComposer, { props: { busy: false } })
    await wrapper.find('textarea').setValue('   ')
    await wrapper.find('form').trigger('submit')
    expect(wrapper.emitted('send')).toBeUndefined()
    expect(wrapper.find('[data-test=send]').attributes('disabled')).toBeDefined()
  })

  it('offers Stop while an answer streams', async () => {
    const wrapper = mount(ChatComposer, { props: { busy: true } })
    expect(wrapper.find('[data-test=send]').exists()).toBe(false)
    await wrapper.find('[data-test=stop]').trigger('click')
    expect(wrapper.emitted('stop')).toHaveLength(1)
  })
})
