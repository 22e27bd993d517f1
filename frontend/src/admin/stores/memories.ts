// The owner's view of every person's memories (issue 24): persons with counts, search, pin, erase.
import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type MemoryPerson } from '@/api/agent'
import { ApiError } from '@/api/http'
import type { Memory } from '@/shared/types/chat'

export const useAdminMemoriesStore = defineStore('adminMemories', () => {
  const memories = ref<Memory[]>([])
  const persons = ref<MemoryPerson[]>([])
  /** The person shown ('' = everyone) and the search. */
  const person = ref('')
  const query = ref('')
  const available = ref(true)
  const error = ref<string | null>(null)

  async function guarded(call: () => Promise<void>) {
    error.value = null
    try {
      await call()
    } catch (cause) {
      // an agent without memory has no such route at all
      if (cause instanceof ApiError && cause.status === 404 && cause.code !== 'memory_not_found') available.value = false
      else error.value = cause instanceof Error ? cause.message : String(cause)
    }
  }

  async function load() {
    await guarded(async () => {
      const listing = await agentApi.listMemories({ person: person.value, q: query.value.trim() })
      memories.value = listing.memories
      persons.value = listing.persons
      available.value = true
    })
  }

  async function choose(who: string) {
    person.value = who
    await load()
  }

  async function search(text: string) {
    query.value = text
    await load()
  }

  async function pin(memory: Memory, pinned: boolean) {
    await guarded(async () => {
      const updated = await agentApi.pinMemory(memory.id, pinned)
      memories.value = memories.value.map((m) => (m.id === memory.id ? { ...m, ...updated } : m))
    })
  }

  async function remove(id: string) {
    await guarded(() => agentApi.deleteMemory(id))
    await load()
  }

  async function removePerson(who: string) {
    await guarded(async () => {
      await agentApi.deletePersonMemories(who)
    })
    if (person.value === who) person.value = ''
    await load()
  }

  return { memories, persons, person, query, available, error, load, choose, search, pin, remove, removePerson }
})
