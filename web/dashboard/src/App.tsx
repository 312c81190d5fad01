import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';

import {
  ApiError,
  deleteCounter,
  getSeries,
  getSite,
  listCounters,
  setCounter,
  type CounterRow,
  type Series,
  type Session,
  type SiteInfo,
} from './api';
import { DailyChart } from './Chart';
import { addDays, isDay, today } from './dates';

// The session lives in sessionStorage: it ends with the tab, and the token
// never appears in a URL, a cookie or localStorage.
const STORAGE_KEY = 'tally.dashboard.session';

function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return s && typeof s.site === 'string' && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

const fmt = (n: number) => n.toLocaleString();

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const signIn = (s: Session) => {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    setSession(s);
  };
  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setSession(null);
  }, []);
  return session === null ? (
    <SignIn onSignedIn={signIn} />
  ) : (
    <Dashboard session={session} onSignOut={signOut} />
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [site, setSite] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const s = { site: site.trim().toLowerCase(), token: token.trim() };
    if (!s.site || !s.token) {
      setError('Enter the site name and its admin token.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      await getSite(s);
      onSignedIn(s);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setError(
        status === 401 || status === 403
          ? 'That token is not valid for this site.'
          : status === 404
            ? 'There is no site with that name.'
            : err instanceof Error
              ? err.message
              : 'Sign-in failed.',
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <h1>Tally dashboard</h1>
      <p className="muted">Sign in with your site's admin token (from <code>tally sites create</code>).</p>
      <form onSubmit={submit}>
        <label>
          Site
          <input name="site" autoComplete="username" value={site} onChange={(e) => setSite(e.target.value)} placeholder="example.com" />
        </label>
        <label>
          Admin token
          <input name="token" type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p className="muted small">The token is kept only in this tab's session storage.</p>
    </main>
  );
}

const RANGES = [7, 30, 90, 365];

function Dashboard({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const [site, setSite] = useState<SiteInfo | null>(null);
  const [counters, setCounters] = useState<CounterRow[] | null>(null);
  const [series, setSeries] = useState<Series | null>(null);
  const [error, setError] = useState('');
  const [key, setKey] = useState<string | undefined>(undefined); // undefined: all pages
  const end = today(site?.timezone);
  const [range, setRange] = useState<{ from: string; to: string } | null>(null);
  const from = range?.from ?? addDays(end, -29);
  const to = range?.to ?? end;
  const [reload, setReload] = useState(0);

  const fail = useCallback(
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) onSignOut();
      else setError(err instanceof Error ? err.message : String(err));
    },
    [onSignOut],
  );

  useEffect(() => {
    let live = true;
    Promise.all([getSite(session), listCounters(session)]).then(([s, c]) => {
      if (!live) return;
      setSite(s);
      setCounters(c);
    }, fail);
    return () => {
      live = false;
    };
  }, [session, reload, fail]);

  useEffect(() => {
    let live = true;
    setSeries(null);
    getSeries(session, from, to, key).then((s) => live && setSeries(s), fail);
    return () => {
      live = false;
    };
  }, [session, from, to, key, reload, fail]);

  const top = useMemo(
    () => (counters ? [...counters].sort((a, b) => b.hits - a.hits || a.key.localeCompare(b.key)) : []),
    [counters],
  );
  const allHits = counters?.reduce((n, c) => n + c.hits, 0) ?? 0;
  const rangeHits = series?.days.reduce((n, d) => n + d.hits, 0) ?? 0;
  const rangeVisitors = series?.days.reduce((n, d) => n + d.visitors, 0) ?? 0;

  return (
    <div className="dash">
      <header>
        <h1>
          <span className="muted">Tally ·</span> <span data-testid="site-name">{session.site}</span>
        </h1>
        <button className="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}

      <section className="cards" aria-label="totals">
        <Card label="hits, all time" value={counters ? fmt(allHits) : '…'} testId="total-hits" />
        <Card label="pages" value={counters ? fmt(counters.length) : '…'} testId="total-pages" />
        <Card label={`hits, ${from} – ${to}`} value={series ? fmt(rangeHits) : '…'} testId="range-hits" />
        <Card label={`visitors, ${from} – ${to}`} value={series ? fmt(rangeVisitors) : '…'} testId="range-visitors" />
      </section>

      <section className="panel">
        <div className="toolbar">
          <h2>{key === undefined ? 'All pages' : <code>{key}</code>}</h2>
          {key !== undefined && (
            <button className="link" onClick={() => setKey(undefined)}>
              show all pages
            </button>
          )}
        </div>
        <div className="toolbar range">
          {RANGES.map((n) => (
            <button
              key={n}
              className={from === addDays(end, -(n - 1)) && to === end ? 'chip on' : 'chip'}
              onClick={() => setRange({ from: addDays(end, -(n - 1)), to: end })}
            >
              {n} days
            </button>
          ))}
          <label>
            from <input type="date" value={from} max={to} onChange={(e) => isDay(e.target.value) && setRange({ from: e.target.value, to })} />
          </label>
          <label>
            to <input type="date" value={to} min={from} onChange={(e) => isDay(e.target.value) && setRange({ from, to: e.target.value })} />
          </label>
        </div>
        {series ? <DailyChart days={series.days} /> : <div className="chart placeholder">loading…</div>}
        <details>
          <summary>Daily numbers</summary>
          <table className="days">
            <thead>
              <tr>
                <th>day</th>
                <th>hits</th>
                <th>visitors</th>
              </tr>
            </thead>
            <tbody>
              {series?.days.map((d) => (
                <tr key={d.day} data-day={d.day}>
                  <td>{d.day}</td>
                  <td>{fmt(d.hits)}</td>
                  <td>{fmt(d.visitors)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </section>

      <section className="panel">
        <h2>Top pages</h2>
        <table className="pages">
          <thead>
            <tr>
              <th>page</th>
              <th>hits</th>
              <th>visitors</th>
            </tr>
          </thead>
          <tbody>
            {top.slice(0, 20).map((c) => (
              <tr key={c.key} className={c.key === key ? 'selected' : undefined}>
                <td>
                  <button className="link" onClick={() => setKey(c.key)} title="show this page's chart">
                    {c.key}
                  </button>
                </td>
                <td>{fmt(c.hits)}</td>
                <td>{fmt(c.visitors)}</td>
              </tr>
            ))}
            {counters?.length === 0 && (
              <tr>
                <td colSpan={3} className="muted">
                  No visits counted yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>

      <CounterEditor session={session} initialKey={key ?? top[0]?.key ?? '/'} onChanged={() => setReload((n) => n + 1)} onError={fail} />
    </div>
  );
}

function Card({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="card">
      <div className="value" data-testid={testId}>
        {value}
      </div>
      <div className="label">{label}</div>
    </div>
  );
}

function CounterEditor(props: {
  session: Session;
  initialKey: string;
  onChanged: () => void;
  onError: (e: unknown) => void;
}) {
  const [key, setKey] = useState(props.initialKey);
  const [hits, setHits] = useState('0');
  const [message, setMessage] = useState('');
  useEffect(() => setKey(props.initialKey), [props.initialKey]);

  const run = async (what: 'set' | 'reset' | 'delete') => {
    setMessage('');
    const n = what === 'reset' ? 0 : Number(hits);
    if (what === 'set' && !(Number.isSafeInteger(n) && n >= 0)) {
      setMessage('The count must be a whole number ≥ 0.');
      return;
    }
    if (what === 'delete' && !window.confirm(`Delete the counter ${key}?`)) return;
    try {
      if (what === 'delete') await deleteCounter(props.session, key);
      else await setCounter(props.session, key, n);
      setMessage(what === 'delete' ? `Deleted ${key}.` : `${key} is now ${fmt(n)}.`);
      props.onChanged();
    } catch (e) {
      if (e instanceof ApiError && e.status !== 401) setMessage(e.message);
      else props.onError(e);
    }
  };

  return (
    <section className="panel">
      <h2>Set or reset a counter</h2>
      <form
        className="editor"
        onSubmit={(e) => {
          e.preventDefault();
          void run('set');
        }}
      >
        <label>
          page
          <input name="key" value={key} onChange={(e) => setKey(e.target.value)} />
        </label>
        <label>
          hits
          <input name="hits" type="number" min={0} step={1} value={hits} onChange={(e) => setHits(e.target.value)} />
        </label>
        <div className="buttons">
          <button type="submit">Set</button>
          <button type="button" onClick={() => void run('reset')}>
            Reset to 0
          </button>
          <button type="button" className="danger" onClick={() => void run('delete')}>
            Delete
          </button>
        </div>
      </form>
      {message && (
        <p className="muted" role="status">
          {message}
        </p>
      )}
    </section>
  );
}
