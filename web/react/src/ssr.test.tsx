// @vitest-environment node
// Server-side rendering: no window, no document; nothing may be fetched.
import { renderToString } from 'react-dom/server';
import { expect, it, vi } from 'vitest';

import { VisitCounter } from './index';

it('renders on the server without touching the network', () => {
  const fetch = vi.fn();
  vi.stubGlobal('fetch', fetch);
  expect(typeof window).toBe('undefined');
  const html = renderToString(
    <VisitCounter site="s" apiUrl="https://tally.example" fallback="…" />,
  );
  expect(html).toContain('data-tally-state="loading"');
  expect(html).toContain('…');
  expect(fetch).not.toHaveBeenCalled();
  vi.unstubAllGlobals();
});
