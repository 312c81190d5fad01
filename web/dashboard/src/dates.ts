// Calendar days as "YYYY-MM-DD" strings; arithmetic in UTC so that DST
// never shifts a day.

/** Today in `timeZone` (an IANA name; default the browser's). */
export function today(timeZone?: string): string {
  try {
    return new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

export function addDays(day: string, n: number): string {
  const t = Date.parse(day + 'T00:00:00Z') + n * 86400000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Seconds since the epoch at 00:00 UTC of `day` (what uPlot's x axis wants). */
export function dayToSeconds(day: string): number {
  return Date.parse(day + 'T00:00:00Z') / 1000;
}

export function isDay(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z'));
}
