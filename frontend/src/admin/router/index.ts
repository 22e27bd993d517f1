import { createRouter, createWebHistory, type RouteLocationNormalized, type Router, type RouterHistory } from 'vue-router'
import DocumentsView from '../views/DocumentsView.vue'
import GatewayView from '../views/GatewayView.vue'
import HomeView from '../views/HomeView.vue'
import MemoriesView from '../views/MemoriesView.vue'
import OverviewView from '../views/OverviewView.vue'
import PersonaView from '../views/PersonaView.vue'
import StatusView from '../views/StatusView.vue'
import TelegramView from '../views/TelegramView.vue'
import TestChatView from '../views/TestChatView.vue'
import { CURRENT_KEY } from '../stores/testChat'

/** /chat without an id reopens the conversation the owner had open last (the test chat keeps it). */
function reopenLast(to: RouteLocationNormalized) {
  const saved = globalThis.localStorage?.getItem(CURRENT_KEY)
  return !to.params.id && saved ? { name: 'test-chat', params: { id: saved } } : true
}

export function createAdminRouter(history: RouterHistory = createWebHistory()): Router {
  return createRouter({
    history,
    routes: [
      // the owner's home: the first-run checklist (what is set up, what is left)
      { path: '/', name: 'home', component: HomeView },
      { path: '/persona', name: 'persona', component: PersonaView },
      { path: '/status', name: 'status', component: StatusView },
      { path: '/overview', name: 'overview', component: OverviewView },
      { path: '/documents', name: 'documents', component: DocumentsView },
      { path: '/memories', name: 'memories', component: MemoriesView },
      { path: '/telegram', name: 'telegram', component: TelegramView },
      { path: '/gateway', name: 'gateway', component: GatewayView },
      // beforeEnter runs on entering the chat, not on "New chat" inside it (/chat/<id> -> /chat)
      { path: '/chat/:id?', name: 'test-chat', component: TestChatView, beforeEnter: reopenLast },
      { path: '/:pathMatch(.*)*', redirect: '/' },
    ],
  })
}
