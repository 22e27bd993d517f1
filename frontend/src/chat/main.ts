import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createChatRouter } from './router'
import { registerServiceWorker } from './registerServiceWorker'
import '@/shared/styles/base.css'
import './styles/chat.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(createChatRouter())
app.mount('#app')
registerServiceWorker()
