// The admin app's entry; the app itself lives in src/admin.
import '@/admin/main'
