import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { Day } from './api';
import { dayToSeconds } from './dates';

// Daily hits and visitors as two lines; fills its container's width and
// follows it when the window (a phone turned sideways) resizes.
export function DailyChart({ days }: { days: Day[] }) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    const data: uPlot.AlignedData = [
      days.map((d) => dayToSeconds(d.day)),
      days.map((d) => d.hits),
      days.map((d) => d.visitors),
    ];
    const width = () => Math.max(240, el.clientWidth);
    const height = () => (el.clientWidth < 500 ? 220 : 300);
    const css = getComputedStyle(document.documentElement);
    const hitsColor = css.getPropertyValue('--hits').trim() || '#2457d6';
    const visitorsColor = css.getPropertyValue('--visitors').trim() || '#e8833a';
    const axisColor = css.getPropertyValue('--muted').trim() || '#667';
    const plot = new uPlot(
      {
        width: width(),
        height: height(),
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [
          { stroke: axisColor, grid: { stroke: 'rgba(127,127,127,.15)' } },
          { stroke: axisColor, grid: { stroke: 'rgba(127,127,127,.15)' }, size: 50 },
        ],
        series: [
          { label: 'Day', value: '{YYYY}-{MM}-{DD}' },
          { label: 'Hits', stroke: hitsColor, width: 2, fill: hitsColor + '22', points: { show: days.length < 60 } },
          { label: 'Visitors', stroke: visitorsColor, width: 2, points: { show: days.length < 60 } },
        ],
      },
      data,
      el,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: height() }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [days]);

  return <div className="chart" ref={box} role="img" aria-label="daily hits and visitors" />;
}
