// The chat app's entry; the app itself lives in src/chat.
import '@/chat/main'
