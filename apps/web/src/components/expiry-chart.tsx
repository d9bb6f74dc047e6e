import { formatDate } from '../lib/utils';

/** Bars per day of active certificates expiring in the next N days (data from insights.expiryTimeline). */
export function ExpiryChart({ buckets, bucket }: { buckets: { start: string; count: number }[]; bucket: string }) {
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const W = 900;
  const H = 180;
  const pad = { l: 36, r: 8, t: 8, b: 22 };
  const bw = (W - pad.l - pad.r) / Math.max(1, buckets.length);
  const y = (n: number) => pad.t + (H - pad.t - pad.b) * (1 - n / max);
  const total = buckets.reduce((s, b) => s + b.count, 0);
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const labelEvery = Math.max(1, Math.round(buckets.length / 6));
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      className="h-48 w-full"
      role="img"
      aria-label={
        `${total} certificates expire in the next ${buckets.length} ` + (bucket === '1d' ? 'days' : 'periods')
      }
      data-testid="expiry-chart"
    >
      {ticks.map((t) => (
        <g key={t}>
          <line x1={pad.l} x2={W - pad.r} y1={y(t)} y2={y(t)} className="stroke-border" strokeDasharray="3 3" />
          <text x={pad.l - 6} y={y(t) + 4} textAnchor="end" className="fill-muted-foreground text-[10px]">
            {t}
          </text>
        </g>
      ))}
      {buckets.map((b, i) => {
        const h = H - pad.b - y(b.count);
        return (
          <g key={b.start}>
            <rect
              x={pad.l + i * bw + 1}
              y={y(b.count)}
              width={Math.max(1, bw - 2)}
              height={Math.max(0, h)}
              rx={1.5}
              className="fill-chart"
            >
              <title>{`${formatDate(b.start)}: ${b.count} expiring`}</title>
            </rect>
            {i % labelEvery === 0 ? (
              <text x={pad.l + i * bw} y={H - 6} className="fill-muted-foreground text-[10px]">
                {formatDate(b.start).slice(5)}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
}
