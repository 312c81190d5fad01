// The admin API calls the dashboard makes. The token travels only in the
// Authorization header; it is never put in a URL.

export interface Session {
  site: string;
  token: string;
}

export interface SiteInfo {
  site: string;
  origins: string[];
  require_public_key?: boolean;
  timezone?: string;
  [field: string]: unknown;
}

export interface CounterRow {
  key: string;
  hits: number;
  visitors: number;
}

export interface Day {
  day: string; // YYYY-MM-DD
  hits: number;
  visitors: number;
}

export interface Series {
  site: string;
  key?: string;
  from: string;
  to: string;
  days: Day[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const base = window.location.origin;

async function call<T>(session: Session, method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers: {
        Authorization: `Bearer ${session.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'Tally cannot be reached.');
  }
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!response.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, err?.code ?? 'http_' + response.status, err?.message ?? text);
  }
  return json as T;
}

const sitePath = (s: Session) => `/v1/sites/${encodeURIComponent(s.site)}`;

export function getSite(s: Session): Promise<SiteInfo> {
  return call<SiteInfo>(s, 'GET', sitePath(s));
}

/** All counters of the site (follows next_cursor up to `max` rows). */
export async function listCounters(s: Session, max = 20000): Promise<CounterRow[]> {
  const rows: CounterRow[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `?limit=1000${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`;
    const page: { counters: CounterRow[]; next_cursor: string | null } = await call(
      s,
      'GET',
      `${sitePath(s)}/counters${q}`,
    );
    rows.push(...page.counters);
    cursor = page.next_cursor;
  } while (cursor && rows.length < max);
  return rows;
}

export function getSeries(s: Session, from: string, to: string, key?: string): Promise<Series> {
  const q = new URLSearchParams({ from, to });
  if (key !== undefined) q.set('key', key);
  return call<Series>(s, 'GET', `${sitePath(s)}/series?${q}`);
}

export function setCounter(s: Session, key: string, hits: number): Promise<unknown> {
  return call(s, 'PUT', `${sitePath(s)}/counters?key=${encodeURIComponent(key)}`, { hits });
}

export function deleteCounter(s: Session, key: string): Promise<unknown> {
  return call(s, 'DELETE', `${sitePath(s)}/counters?key=${encodeURIComponent(key)}`);
}
