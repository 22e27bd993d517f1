import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import AdapterCard from './AdapterCard.vue'
import type { AdapterStatus } from '@/api/agent'
import { useI18n } from '@/shared/composables/useI18n'

const FAILED: AdapterStatus = {
  state: 'failed',
  reason: 'the adapter could not be applied: KeyError: blk.0.attn_q.weight; the base model is serving',
  reason_code: 'adapter_failed',
  path: '',
  name: '',
  rank: null,
  alpha: null,
  scale: 1,
  targets: [],
}

describe('AdapterCard', () => {
  it('says a missing adapter path and no adapter at all in the page language, never the path sentence', () => {
    useI18n().setLocale('ru')
    const missing = { ...FAILED, reason: 'model.lora_path points to /x/lora, which does not exist; the base model is serving', reason_code: 'adapter_not_found' }
    const said = mount(AdapterCard, { props: { adapter: missing } }).find('[data-test=adapter-reason]').text()
    expect(said).toContain('Адаптер, указанный в model.lora_path, не найден')
    expect(said).not.toContain('does not exist')
    const none = { ...FAILED, state: 'none' as const, reason: 'no adapter in /x/models/lora', reason_code: 'adapter_none' }
    const nothing = mount(AdapterCard, { props: { adapter: none } }).find('[data-test=adapter-reason]').text()
    expect(nothing).toContain('Адаптера нет')
    expect(nothing).not.toContain('no adapter in')
  })

  it('says a failure with a code in the page language, never the library words', () => {
    useI18n().setLocale('ru')
    const said = mount(AdapterCard, { props: { adapter: FAILED } }).find('[data-test=adapter-reason]').text()
    expect(said).toContain('Адаптер не удалось применить')
    expect(said).not.toContain('KeyError')
  })
})
