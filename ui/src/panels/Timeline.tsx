// The run's steps on a time axis (Gantt), coloured by status.
import type { StepState } from "../api";
import { statusColor } from "../colors";
import { dur } from "../format";

export function Timeline({ steps, onSelect }: { steps: StepState[]; onSelect: (id: string) => void }) {
  const started = steps.filter((s) => s.startTime);
  if (!started.length) return <p className="muted timeline">No step has started yet.</p>;
  const now = Date.now();
  const t0 = Math.min(...started.map((s) => Date.parse(s.startTime!)));
  const t1 = Math.max(...started.map((s) => (s.endTime ? Date.parse(s.endTime) : now)), t0 + 1000);
  const span = t1 - t0;
  const rows = [...started].sort((a, b) => Date.parse(a.startTime!) - Date.parse(b.startTime!)).slice(0, 2000);
  return (
    <div className="timeline" data-testid="timeline">
      <div className="axis">
        <span>0s</span>
        <span>{dur(span / 1000)}</span>
      </div>
      {rows.map((s) => {
        const a = Date.parse(s.startTime!) - t0;
        const b = (s.endTime ? Date.parse(s.endTime) : now) - t0;
        return (
          <div key={s.id} className="trow" onClick={() => onSelect(s.id)}>
            <span className="tname">{s.id}</span>
            <span className="ttrack">
              <span
                className="tbar"
                data-status={s.phase}
                title={`${s.id}: ${s.phase}, ${dur((b - a) / 1000)}`}
                style={{ left: `${(100 * a) / span}%`, width: `${Math.max(0.3, (100 * (b - a)) / span)}%`, background: statusColor(s.phase) }}
              />
            </span>
            <span className="tdur">{dur((b - a) / 1000)}</span>
          </div>
        );
      })}
    </div>
  );
}
