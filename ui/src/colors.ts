// One colour per status: the legend, the DAG nodes, the timeline and the runs list use these.

export const STATUS_COLORS: Record<string, string> = {
  completed: "#2563eb", // blue: ran and finished (seed 001: re-run steps are blue)
  running: "#eab308", // yellow
  failed: "#dc2626", // red
  cached: "#16a34a", // green: served from the cache
  pending: "#9ca3af", // grey: initialized or waiting
  initialized: "#9ca3af",
  retrying: "#f97316", // orange
  cancelled: "#7c3aed", // purple
  skipped: "#d1d5db",
};

export const LEGEND = [
  ["completed", "completed"],
  ["running", "running"],
  ["failed", "failed"],
  ["cached", "cached"],
  ["pending", "initialized / pending"],
  ["retrying", "retrying"],
  ["cancelled", "cancelled"],
] as const;

export function statusColor(status: string | undefined): string {
  return STATUS_COLORS[status || "pending"] || STATUS_COLORS.pending;
}

/** Text colour readable on the status colour. */
export function statusInk(status: string | undefined): string {
  return status === "running" || status === "skipped" || status === "pending" || status === "initialized"
    ? "#111827"
    : "#ffffff";
}
