import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createAdminRouter } from './router'
import '@/shared/styles/base.css'
import './styles/admin.css'

createApp(App).use(createPinia()).use(createAdminRouter()).mount('#app')
