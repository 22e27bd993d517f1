import { START_LOCATION, createRouter, createWebHistory, type Router, type RouterHistory } from 'vue-router'
import { useAuthStore } from '../stores/auth'
import { LAST_CONVERSATION_KEY } from '../stores/chat'
import ChatView from '../views/ChatView.vue'
import HomeLanView from '../views/HomeLanView.vue'
import KeysView from '../views/KeysView.vue'
import LoginView from '../views/LoginView.vue'
import MemoriesView from '../views/MemoriesView.vue'
import OwnerView from '../views/OwnerView.vue'
import RegisterView from '../views/RegisterView.vue'

export function createChatRouter(history: RouterHistory = createWebHistory()): Router {
  const router = createRouter({
    history,
    routes: [
      { path: '/', name: 'chat', component: ChatView, meta: { requiresAuth: true } },
      // /chat/<id> as in the admin's test chat; /c/<id> stays for links already shared
      { path: '/chat/:id', alias: '/c/:id', name: 'conversation', component: ChatView, meta: { requiresAuth: true } },
      { path: '/keys', name: 'keys', component: KeysView, meta: { requiresAuth: true } },
      { path: '/home', name: 'home', component: HomeLanView, meta: { requiresAuth: true } },
      { path: '/memories', name: 'memories', component: MemoriesView, meta: { requiresAuth: true } },
      { path: '/owner', name: 'owner', component: OwnerView, meta: { requiresAuth: true, requiresOwner: true } },
      { path: '/login', name: 'login', component: LoginView },
      { path: '/register', name: 'register', component: RegisterView },
      { path: '/:pathMatch(.*)*', redirect: '/' },
    ],
  })
  router.beforeEach(async (to, from) => {
    const auth = useAuthStore()
    if (to.meta.requiresAuth && !auth.isAuthenticated) return { name: 'login' }
    // The owner's pages are never shown to anyone else (the API refuses them with 403 anyway).
    if (to.meta.requiresOwner && (await auth.loadUser())?.role !== 'owner') return { name: 'chat' }
    if ((to.name === 'login' || to.name === 'register') && auth.isAuthenticated) return { name: 'chat' }
    // Opening the chat afresh (a reload, a bookmark of /) reopens the conversation open last;
    // "New chat" inside the app is not such a visit.
    const last = globalThis.localStorage?.getItem(LAST_CONVERSATION_KEY)
    if (to.name === 'chat' && from === START_LOCATION && last) return { name: 'conversation', params: { id: last } }
    return true
  })
  return router
}
