import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ChatHeader from './ChatHeader.vue'
import { useI18n } from '@/shared/composables/useI18n'

describe('ChatHeader', () => {
  it('shows the clone online or offline', async () => {
    useI18n().setLocale('en')
    const wrapper = mount(ChatHeader, { props: { cloneName: 'Ann', online: true } })
    expect(wrapper.text()).toContain('Ann')
    expect(wrapper.find('[data-test=clone-status]').text()).toBe('online')
    await wrapper.setProps({ online: false })
    expect(wrapper.find('[data-test=clone-status]').text()).toBe('offline')
    expect(wrapper.find('[data-test=clone-status]').classes()).toContain('badge-bad')
  })

  it('speaks Russian when asked', async () => {
    const { setLocale } = useI18n()
    setLocale('ru')
    const wrapper = mount(ChatHeader, { props: { cloneName: 'Аня', online: false } })
    expect(wrapper.find('[data-test=clone-status]').text()).toBe('не в сети')
    expect(wrapper.find('[data-test=logout]').text()).toBe('Выйти')
    setLocale('en')
  })
})
