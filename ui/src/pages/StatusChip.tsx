import { statusColor, statusInk } from "../colors";

export function StatusChip({ status }: { status?: string | null }) {
  const s = status || "initialized";
  return (
    <span className="chip" data-status={s} style={{ background: statusColor(s), color: statusInk(s) }}>
      {s}
    </span>
  );
}
