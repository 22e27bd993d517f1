import { createRouter, createWebHistory, type Router } from 'vue-router'
import { useAuthStore } from '../stores/auth'
import ChatView from '../views/ChatView.vue'
import LoginView from '../views/LoginView.vue'
import RegisterView from '../views/RegisterView.vue'

export function createChatRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/', name: 'chat', component: ChatView, meta: { requiresAuth: true } },
      { path: '/c/:id', name: 'conversation', component: ChatView, meta: { requiresAuth: true } },
      { path: '/login', name: 'login', component: LoginView },
      { path: '/register', name: 'register', component: RegisterView },
      { path: '/:pathMatch(.*)*', redirect: '/' },
    ],
  })
  router.beforeEach((to) => {
    const auth = useAuthStore()
    if (to.meta.requiresAuth && !auth.isAuthenticated) return { name: 'login' }
    if ((to.name === 'login' || to.name === 'register') && auth.isAuthenticated) return { name: 'chat' }
    return true
  })
  return router
}
