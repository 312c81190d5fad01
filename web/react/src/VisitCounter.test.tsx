import { StrictMode } from 'react';
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { resetPageViews } from './client';
import { VisitCounter } from './VisitCounter';
import { useVisitCount } from './useVisitCount';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
}

let calls: Call[] = [];
let hits = 0;

function answer(url: string) {
  const key = decodeURIComponent(new URL(url).searchParams.get('key') ?? '/');
  return { site: 'example.com', key, hits, visitors: 1, today: { hits, visitors: 1 } };
}

function mockFetch(impl?: (url: string, init: RequestInit) => Promise<Response>) {
  const fn = vi.fn(async (url: string, init: RequestInit = {}) => {
    calls.push({
      url,
      method: init.method ?? 'GET',
      headers: (init.headers ?? {}) as Record<string, string>,
    });
    if (impl) return impl(url, init);
    if (init.method === 'POST') hits++;
    return new Response(JSON.stringify(answer(url)), { status: 200 });
  });
  vi.stubGlobal('fetch', fn);
  return fn;
}

// Lets pending promises and the release timers run.
async function settle() {
  await act(async () => {
    await new Promise((r) => setTimeout(r, 5));
  });
}

const api = 'https://tally.example';

beforeEach(() => {
  calls = [];
  hits = 1233;
  resetPageViews();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('VisitCounter', () => {
  it('counts once under StrictMode and shows the locale-formatted count', async () => {
    mockFetch();
    render(
      <StrictMode>
        <VisitCounter site="example.com" apiUrl={api} page="/cv" />
      </StrictMode>,
    );
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0].method).toBe('POST');
    expect(calls[0].url).toBe('https://tally.example/v1/sites/example.com/hits?key=%2Fcv');
    expect(screen.getByText((1234).toLocaleString())).toBeTruthy();
  });

  it('counts a new page when the route changes, and a page again when the user comes back', async () => {
    mockFetch();
    const { rerender } = render(
      <StrictMode>
        <VisitCounter site="example.com" apiUrl={api} page="/a" />
      </StrictMode>,
    );
    await settle();
    for (const page of ['/b', '/a']) {
      rerender(
        <StrictMode>
          <VisitCounter site="example.com" apiUrl={api} page={page} />
        </StrictMode>,
      );
      await settle();
    }
    expect(calls.map((c) => new URL(c.url).searchParams.get('key'))).toEqual(['/a', '/b', '/a']);
  });

  it('shares one request between counters of the same page', async () => {
    mockFetch();
    render(
      <>
        <VisitCounter site="example.com" apiUrl={api} page="/p" />
        <VisitCounter site="example.com" apiUrl={api} page="/p" value="today-hits" />
      </>,
    );
    await settle();
    expect(calls).toHaveLength(1);
    expect(screen.getAllByText((1234).toLocaleString())).toHaveLength(2);
  });

  it('reads without counting in read mode and sends the public key', async () => {
    mockFetch();
    render(<VisitCounter site="s" apiUrl={api + '/'} page="/" mode="read" apiKey="pk_1" />);
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0].method).toBe('GET');
    expect(calls[0].url).toBe('https://tally.example/v1/sites/s/counters?key=%2F');
    expect(calls[0].headers['x-api-key']).toBe('pk_1');
  });

  it('uses the location path when no page is given', async () => {
    mockFetch();
    window.history.pushState({}, '', '/blog/post-1');
    render(<VisitCounter site="s" apiUrl={api} />);
    await settle();
    expect(new URL(calls[0].url).searchParams.get('key')).toBe('/blog/post-1');
  });

  it('shows the fallback and throws nothing when the API is down', async () => {
    mockFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    render(<VisitCounter site="s" apiUrl={api} page="/" fallback="–" />);
    await settle();
    const span = screen.getByText('–');
    expect(span.getAttribute('data-tally-state')).toBe('error');
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
  });

  it('treats an error answer as an error', async () => {
    mockFetch(async () => new Response('{"error":{"code":"origin_not_allowed"}}', { status: 403 }));
    render(<VisitCounter site="s" apiUrl={api} page="/" fallback="n/a" />);
    await settle();
    expect(screen.getByText('n/a').getAttribute('data-tally-state')).toBe('error');
  });

  it('formats with a custom formatter', async () => {
    mockFetch();
    render(<VisitCounter site="s" apiUrl={api} page="/" format={(n) => `#${n}`} />);
    await settle();
    expect(screen.getByText('#1234')).toBeTruthy();
  });
});

describe('useVisitCount', () => {
  function Probe(props: { page: string }) {
    const state = useVisitCount({ site: 's', apiUrl: api, page: props.page });
    return (
      <p>
        {state.status}:{state.counts?.hits ?? '-'}:{state.counts?.visitors ?? '-'}
      </p>
    );
  }

  it('goes from loading to ready with all the numbers', async () => {
    mockFetch();
    render(<Probe page="/x" />);
    expect(screen.getByText('loading:-:-')).toBeTruthy();
    await settle();
    expect(screen.getByText('ready:1234:1')).toBeTruthy();
  });

  it('ignores an answer that arrives after unmounting', async () => {
    let resolve: (r: Response) => void = () => undefined;
    mockFetch(() => new Promise<Response>((r) => (resolve = r)));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { unmount } = render(<Probe page="/late" />);
    unmount();
    resolve(new Response(JSON.stringify(answer(api + '/?key=/late')), { status: 200 }));
    await settle();
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
  });
});
