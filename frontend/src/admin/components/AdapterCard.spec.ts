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
  it('says a failure with a code in the page language, never the library words', () => {
    useI18n().setLocale('ru')
    const said = mount(AdapterCard, { props: { adapter: FAILED } }).find('[data-test=adapter-reason]').text()
    expect(said).toContain('Адаптер не удалось применить')
    expect(said).not.toContain('KeyError')
  })
})
