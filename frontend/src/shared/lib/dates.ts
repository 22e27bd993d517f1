// Dates and times in the reader's language (Unix seconds in, localized text out).
export function formatDate(unixSeconds: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(unixSeconds * 1000))
}

/** An ISO 8601 time (as the APIs send memories' ``at``) in the reader's language. */
export function formatIsoDate(iso: string, locale: string): string {
  const time = Date.parse(iso)
  return Number.isNaN(time) ? iso : formatDate(time / 1000, locale)
}
