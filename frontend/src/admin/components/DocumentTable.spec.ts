import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import DocumentTable from './DocumentTable.vue'
import type { RagDocument } from '@/api/agent'
import { useI18n } from '@/shared/composables/useI18n'

const FAILED: RagDocument = {
  id: 'd1',
  name: 'scan.pdf',
  size: 10,
  chunks: 0,
  status: 'failed',
  progress: 0,
  error: "the PDF could not be read: Stream has ended unexpectedly",
  error_code: 'document_unreadable',
  created_at: 1,
  visibility: 'owner',
}

describe('DocumentTable', () => {
  it('says why a document failed from its code, in the page language, never the parser words', () => {
    for (const [locale, words] of [['en', 'This file could not be read'], ['ru', 'Этот файл не читается']] as const) {
      useI18n().setLocale(locale)
      const said = mount(DocumentTable, { props: { documents: [FAILED] } }).find('[data-test=document-error]').text()
      expect(said).toContain(words)
      expect(said).not.toContain('Stream has ended')
    }
  })

  it('a failure without a code (an older agent) reads as a sentence of its own', () => {
    useI18n().setLocale('ru')
    const said = mount(DocumentTable, { props: { documents: [{ ...FAILED, error: 'internal error: KeyError: x', error_code: undefined }] } }).find('[data-test=document-error]').text()
    expect(said).toContain('Этот файл не удалось проиндексировать')
    expect(said).not.toContain('KeyError')
  })
})
