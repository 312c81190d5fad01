export { VisitCounter, pickValue } from './VisitCounter';
export type { VisitCounterProps, VisitCountValue } from './VisitCounter';
export { useVisitCount } from './useVisitCount';
export type { VisitCountOptions, VisitCountState } from './useVisitCount';
export { counterUrl, fetchCounts } from './client';
export type { VisitCounts, CounterRequest } from './client';
