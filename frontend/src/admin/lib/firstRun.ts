// What the owner's home says: the first-run checklist (model, persona, documents, gateway link,
// Telegram) and the header's one-line status. States the owner chose are not alarms: a clone kept
// local-only, or without Telegram, is set up as they wanted ("optional", "local only").
import type { AgentStatus, Clone, RagDocument, TelegramSettings } from '@/api/agent'

export type StepKey = 'model' | 'persona' | 'documents' | 'gateway' | 'telegram'
/** done; todo (needed for a useful clone); waiting (set up, not there yet); optional (not set up, and that is fine). */
export type StepState = 'done' | 'todo' | 'waiting' | 'optional'
export interface ChecklistStep { key: StepKey; state: StepState; route: string }

export interface FirstRunFacts {
  status: AgentStatus | null
  clone: Clone | null
  documents: RagDocument[]
  telegram: TelegramSettings | null
}

export function modelLoaded(status: AgentStatus | null): boolean {
  const reload = status?.engine_reload?.state
  return status !== null && reload !== 'loading' && reload !== 'draining'
}

export function firstRunChecklist({ status, clone, documents, telegram }: FirstRunFacts): ChecklistStep[] {
  const gateway = status?.gateway
  const gatewayState: StepState = !gateway?.url ? 'optional' : gateway.connected ? 'done' : 'waiting'
  const telegramOn = Boolean(telegram?.enabled && telegram.bots.length > 0)
  const telegramState: StepState = !telegramOn ? 'optional' : telegram?.status === 'running' ? 'done' : 'waiting'
  return [
    { key: 'model', state: modelLoaded(status) ? 'done' : 'waiting', route: 'status' },
    { key: 'persona', state: clone?.system_prompt.trim() ? 'done' : 'todo', route: 'persona' },
    { key: 'documents', state: documents.some((d) => d.status === 'ready') ? 'done' : 'todo', route: 'documents' },
    { key: 'gateway', state: gatewayState, route: 'gateway' },
    { key: 'telegram', state: telegramState, route: 'telegram' },
  ]
}

export type BadgeKey = 'agentDown' | 'loading' | 'localOnly' | 'online' | 'gatewayDown'
export interface HeaderBadge { key: BadgeKey; tone: 'ok' | 'neutral' | 'bad' }

/** The header's status: the model, and how the public reaches the clone (if the owner set that up). */
export function headerBadge(status: AgentStatus | null, failed: boolean): HeaderBadge {
  if (status === null) return failed ? { key: 'agentDown', tone: 'bad' } : { key: 'loading', tone: 'neutral' }
  if (!modelLoaded(status)) return { key: 'loading', tone: 'neutral' }
  if (!status.gateway?.url) return { key: 'localOnly', tone: 'ok' }
  return status.gateway.connected ? { key: 'online', tone: 'ok' } : { key: 'gatewayDown', tone: 'bad' }
}

/** Whether a network path was ever set up: one that is not is "not set up", never "down". */
export function pathConfigured(path: string, status: AgentStatus | null, gatewayUrl: string): boolean {
  if (path === 'relay') return Boolean(gatewayUrl)
  if (path === 'direct') return Boolean(status?.gateway?.direct_url)
  return true
}
