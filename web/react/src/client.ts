// The HTTP side of the React package: one request per page view, shared by
// every component that shows that page's count.

/** A counter as Tally answers it. */
export interface VisitCounts {
  site: string;
  key: string;
  hits: number;
  visitors: number;
  today: { hits: number; visitors: number };
  /** Present on counted hits: false when Tally answered without counting (a bot, a prefetch). */
  counted?: boolean;
}

export interface CounterRequest {
  /** The Tally site, e.g. "example.com". */
  site: string;
  /** Where Tally runs, e.g. "https://tally.example.com". */
  apiUrl: string;
  /** The site's public key, for sites that require one (sent as x-api-key). */
  apiKey?: string;
  /** The counter key, usually the page path. */
  page: string;
  /** "hit" counts the view; "read" only reads the count. */
  mode: 'hit' | 'read';
}

export function counterUrl(r: CounterRequest): string {
  const base = r.apiUrl.replace(/\/+$/, '');
  const action = r.mode === 'read' ? 'counters' : 'hits';
  return `${base}/v1/sites/${encodeURIComponent(r.site)}/${action}?key=${encodeURIComponent(r.page)}`;
}

export async function fetchCounts(r: CounterRequest, signal?: AbortSignal): Promise<VisitCounts> {
  const headers: Record<string, string> = {};
  if (r.apiKey) headers['x-api-key'] = r.apiKey;
  const response = await fetch(counterUrl(r), {
    method: r.mode === 'read' ? 'GET' : 'POST',
    headers,
    keepalive: true,
    signal,
  });
  if (!response.ok) throw new Error(`Tally answered ${response.status}`);
  const body = (await response.json()) as VisitCounts;
  if (typeof body.hits !== 'number') throw new Error('Tally answered without a count');
  return body;
}

interface Entry {
  promise: Promise<VisitCounts>;
  users: number;
  release?: ReturnType<typeof setTimeout>;
}

// In-flight and just-finished page views, by request identity. An entry
// lives while some component uses it, plus one macrotask: React StrictMode
// unmounts and remounts effects synchronously, and a remount within that
// window reuses the entry instead of counting the view a second time. A
// later mount (the user came back to the page) is a new page view.
const pageViews = new Map<string, Entry>();

function identity(r: CounterRequest): string {
  return JSON.stringify([r.apiUrl, r.site, r.page, r.mode, r.apiKey ?? '']);
}

/**
 * Starts (or joins) the page view `r` and returns its answer and a release
 * function to call when the caller no longer needs it.
 */
export function acquirePageView(r: CounterRequest): [Promise<VisitCounts>, () => void] {
  const id = identity(r);
  let entry = pageViews.get(id);
  if (entry === undefined) {
    entry = { promise: fetchCounts(r), users: 0 };
    // Failures are reported to each user through the promise; this only
    // keeps an unobserved rejection from reaching the console.
    entry.promise.catch(() => undefined);
    pageViews.set(id, entry);
  }
  if (entry.release !== undefined) {
    clearTimeout(entry.release);
    entry.release = undefined;
  }
  entry.users++;
  const e = entry;
  let released = false;
  return [
    e.promise,
    () => {
      if (released) return;
      released = true;
      if (--e.users > 0) return;
      e.release = setTimeout(() => {
        if (pageViews.get(id) === e && e.users === 0) pageViews.delete(id);
      }, 0);
    },
  ];
}

/** For tests: forgets every page view. */
export function resetPageViews(): void {
  for (const e of pageViews.values()) if (e.release !== undefined) clearTimeout(e.release);
  pageViews.clear();
}
