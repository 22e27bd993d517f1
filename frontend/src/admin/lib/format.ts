// Number formatting for the admin screens, in the page's language (Intl: "1.5 MB" / "1,5 МБ").
import { currentLocale, translate, type Locale } from '@/shared/composables/useI18n'

function unit(value: number, name: string, locale: string, digits = 0): string {
  return new Intl.NumberFormat(locale, { style: 'unit', unit: name, unitDisplay: 'short', maximumFractionDigits: digits }).format(value)
}

export function formatBytes(bytes: number, locale: string = currentLocale()): string {
  // Intl's short 'byte' has no plural ("483 byte"): the catalogue's plural forms say it
  if (bytes < 1024) return translate(locale as Locale, 'format.bytes', { size: bytes.toLocaleString(locale), count: bytes })
  const units = ['kilobyte', 'megabyte', 'gigabyte']
  let value = bytes / 1024
  let index = 0
  while (value >= 1024 && index < units.length - 1) {
    value /= 1024
    index += 1
  }
  return unit(value, units[index], locale, value < 10 ? 1 : 0)
}

export function formatDuration(seconds: number, locale: string = currentLocale()): string {
  const s = Math.floor(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (h > 0) return `${unit(h, 'hour', locale)} ${unit(m, 'minute', locale)}`
  if (m > 0) return `${unit(m, 'minute', locale)} ${unit(s % 60, 'second', locale)}`
  return unit(s, 'second', locale)
}

export function formatNumber(value: number | null | undefined, digits = 0, suffix = ''): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  return `${value.toLocaleString(currentLocale(), { minimumFractionDigits: digits, maximumFractionDigits: digits })}${suffix ? ` ${suffix}` : ''}`
}
