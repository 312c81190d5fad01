import type { ReactNode } from 'react';

import type { VisitCounts } from './client';
import { useVisitCount, type VisitCountOptions } from './useVisitCount';

/** Which number to show. */
export type VisitCountValue = 'hits' | 'visitors' | 'today-hits' | 'today-visitors';

export interface VisitCounterProps extends VisitCountOptions {
  /** What to show: "hits" (default), "visitors", "today-hits" or "today-visitors". */
  value?: VisitCountValue;
  /** Shown while loading and when the API cannot be reached. Default: nothing. */
  fallback?: ReactNode;
  /** Formats the number; default: the browser's locale ("1,234"). */
  format?: (n: number) => string;
  className?: string;
}

export function pickValue(counts: VisitCounts, value: VisitCountValue): number {
  switch (value) {
    case 'visitors':
      return counts.visitors;
    case 'today-hits':
      return counts.today.hits;
    case 'today-visitors':
      return counts.today.visitors;
    default:
      return counts.hits;
  }
}

/**
 * Counts the page view and shows the count in a <span>. If the API is down
 * the span shows `fallback` and nothing is thrown.
 */
export function VisitCounter(props: VisitCounterProps) {
  const { value = 'hits', fallback = null, format, className } = props;
  const state = useVisitCount(props);
  const n = state.counts === undefined ? undefined : pickValue(state.counts, value);
  return (
    <span className={className ?? 'tally-count'} data-tally-state={state.status} aria-live="polite">
      {n === undefined ? fallback : format ? format(n) : n.toLocaleString()}
    </span>
  );
}
