export function ago(ts?: string | null): string {
  if (!ts) return "";
  const s = (Date.now() - Date.parse(ts)) / 1000;
  if (s < 60) return `${Math.max(0, Math.round(s))}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function seconds(a?: string | null, b?: string | null): number | null {
  if (!a) return null;
  const end = b ? Date.parse(b) : Date.now();
  return (end - Date.parse(a)) / 1000;
}

export function dur(s: number | null | undefined): string {
  if (s === null || s === undefined || isNaN(s)) return "";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    return `${m}m${Math.round(s - 60 * m)}s`;
  }
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h${Math.round((s - 3600 * h) / 60)}m`;
  return `${Math.round(h / 24)}d`;
}
