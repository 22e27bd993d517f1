import { createRouter, createWebHistory, type Router } from 'vue-router'
import DocumentsView from '../views/DocumentsView.vue'
import GatewayView from '../views/GatewayView.vue'
import MemoriesView from '../views/MemoriesView.vue'
import OverviewView from '../views/OverviewView.vue'
import PersonaView from '../views/PersonaView.vue'
import StatusView from '../views/StatusView.vue'
import TelegramView from '../views/TelegramView.vue'
import TestChatView from '../views/TestChatView.vue'

export function createAdminRouter(): Router {
  return createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/', redirect: '/persona' },
      { path: '/persona', name: 'persona', component: PersonaView },
      { path: '/status', name: 'status', component: StatusView },
      { path: '/overview', name: 'overview', component: OverviewView },
      { path: '/documents', name: 'documents', component: DocumentsView },
      { path: '/memories', name: 'memories', component: MemoriesView },
      { path: '/telegram', name: 'telegram', component: TelegramView },
      { path: '/gateway', name: 'gateway', component: GatewayView },
      { path: '/chat', name: 'test-chat', component: TestChatView },
      { path: '/:pathMatch(.*)*', redirect: '/persona' },
    ],
  })
}
