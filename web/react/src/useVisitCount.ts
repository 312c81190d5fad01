import { useEffect, useState } from 'react';

import { acquirePageView, type VisitCounts } from './client';

export interface VisitCountOptions {
  /** The Tally site, e.g. "example.com". */
  site: string;
  /** Where Tally runs, e.g. "https://tally.example.com" (no trailing path). */
  apiUrl: string;
  /** The site's public key, when the site requires one. */
  apiKey?: string;
  /**
   * The counter key, usually the page path. Defaults to
   * `window.location.pathname` at the time of rendering. With a client-side
   * router, pass the router's path so that each route change counts the
   * new page.
   */
  page?: string;
  /** "hit" (default) counts the page view; "read" only shows the count. */
  mode?: 'hit' | 'read';
}

export type VisitCountState =
  | { status: 'loading'; counts: undefined; error: undefined }
  | { status: 'ready'; counts: VisitCounts; error: undefined }
  | { status: 'error'; counts: undefined; error: Error };

const loading: VisitCountState = { status: 'loading', counts: undefined, error: undefined };

/**
 * Counts this page view once (or reads the count) and returns the numbers.
 *
 * Safe under React StrictMode (the double effect run counts once), on the
 * server (nothing is fetched until the component mounts in a browser) and
 * with client-side routing (a new `page` counts the new page). Several
 * components showing the same page share one request.
 */
export function useVisitCount(options: VisitCountOptions): VisitCountState {
  const { site, apiUrl, apiKey, mode = 'hit' } = options;
  const page =
    options.page ?? (typeof window !== 'undefined' ? window.location.pathname : undefined);
  const [state, setState] = useState<VisitCountState>(loading);

  useEffect(() => {
    if (page === undefined) return undefined;
    let active = true;
    setState(loading);
    const [promise, release] = acquirePageView({ site, apiUrl, apiKey, page, mode });
    promise.then(
      (counts) => {
        if (active) setState({ status: 'ready', counts, error: undefined });
      },
      (error: unknown) => {
        if (active) {
          const e = error instanceof Error ? error : new Error(String(error));
          setState({ status: 'error', counts: undefined, error: e });
        }
      },
    );
    return () => {
      active = false;
      release();
    };
  }, [site, apiUrl, apiKey, page, mode]);

  return state;
}
