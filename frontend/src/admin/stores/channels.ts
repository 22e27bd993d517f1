// A persona per channel: the owner's chats, the public web chat, Telegram and API keys.
import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type ChannelName, type ChannelProfile, type ChannelProfiles } from '@/api/agent'

export const useChannelsStore = defineStore('channels', () => {
  const profiles = ref<ChannelProfiles | null>(null)
  const saving = ref(false)
  const savedAt = ref<number | null>(null)
  const error = ref<string | null>(null)

  async function load() {
    error.value = null
    try {
      profiles.value = await agentApi.getChannels()
    } catch (cause) {
      error.value = (cause as Error).message
    }
  }

  async function save(name: ChannelName, profile: ChannelProfile) {
    saving.value = true
    error.value = null
    savedAt.value = null
    try {
      profiles.value = await agentApi.updateChannels({ [name]: profile })
      savedAt.value = Date.now()
    } catch (cause) {
      error.value = (cause as Error).message
    } finally {
      saving.value = false
    }
  }

  return { profiles, saving, savedAt, error, load, save }
})
