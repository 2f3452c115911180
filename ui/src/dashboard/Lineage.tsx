// Lineage across pipelines: from an artifact version or a model version, what it came from
// (producing steps and runs, their inputs, in any pipeline) and what consumed it. Columns
// left to right: upstream, the start, downstream.
import { useEffect, useMemo, useState } from "react";
import { getJson, withNs } from "../api";
import { statusColor, statusInk } from "../colors";
import { Problem } from "../pages/Problem";
import "./dashboard.css";

interface LNode {
  id: string;
  kind: "artifact" | "step" | "model";
  side: string;
  depth: number;
  root?: boolean;
  // artifact
  objectName?: string;
  name?: string;
  version?: string;
  linkType?: string;
  viaModel?: { name: string; version: string; number?: number };
  // step
  run?: string;
  step?: string;
  pipeline?: string;
  status?: string;
  // model
  model?: string;
  number?: number;
  stage?: string;
}

interface LineageData {
  root: string;
  nodes: LNode[];
  edges: { source: string; target: string; label: string }[];
  upstreamPipelines: { pipeline: string; runs: string[] }[];
  truncated: boolean;
  stats: { requests: number; ms: number };
}

const W = 230;
const H = 58;
const GX = 80;
const GY = 14;

function NodeBox({ n }: { n: LNode }) {
  if (n.kind === "step")
    return (
      <a className="lnode step" href={withNs(`/runs/${n.run}`)} style={{ background: statusColor(n.status || "completed"), color: statusInk(n.status || "completed") }}>
        <div className="name">{n.step}</div>
        <div className="sub">
          {n.pipeline} · {n.run}
        </div>
      </a>
    );
  if (n.kind === "model")
    return (
      <a className="lnode model" href={withNs(`/models/${encodeURIComponent(n.model || "")}`)}>
        <div className="name">
          {n.model} v{n.version}
        </div>
        <div className="sub">model version · {n.stage}</div>
      </a>
    );
  return (
    <a className={`lnode artifact${n.root ? " root" : ""}`} href={withNs(`/artifacts/${encodeURIComponent(n.name || "")}`, { version: n.objectName })}>
      <div className="name">
        {n.name} <span className="muted">v{n.version}</span>
      </div>
      <div className="sub">
        {n.linkType ? `${n.linkType} artifact` : "artifact"}
        {n.viaModel ? ` · from model ${n.viaModel.name} v${n.viaModel.version}` : ""}
      </div>
    </a>
  );
}

export function Lineage({ query }: { query: URLSearchParams }) {
  const artifact = query.get("artifact");
  const model = query.get("model");
  const version = query.get("version");
  const [d, setD] = useState<LineageData | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    getJson<LineageData>("/api/lineage", { artifact, model, version }).then(setD).catch(setError);
  }, [artifact, model, version]);
  const layout = useMemo(() => {
    if (!d) return null;
    const depths = [...new Set(d.nodes.map((n) => n.depth))].sort((a, b) => a - b);
    const col = new Map(depths.map((x, i) => [x, i]));
    const rows = new Map<number, number>();
    const pos = new Map<string, { x: number; y: number }>();
    for (const n of d.nodes) {
      const c = col.get(n.depth)!;
      const r = rows.get(c) || 0;
      rows.set(c, r + 1);
      pos.set(n.id, { x: c * (W + GX), y: r * (H + GY) });
    }
    const width = depths.length * (W + GX);
    const height = Math.max(...[...rows.values()], 1) * (H + GY);
    return { pos, width, height };
  }, [d]);
  if (error) return <Problem error={error} />;
  if (!d || !layout) return <div className="loading">tracing lineage…</div>;
  const title = model ? `${model} ${version || "latest"}` : artifact;
  return (
    <section className="lineage" data-testid="lineage">
      <h1>
        Lineage of {title} <span className="muted">upstream ← → downstream</span>
      </h1>
      <div className="facts">
        <span data-testid="upstream-pipelines">
          trained from / made from:{" "}
          {d.upstreamPipelines.map((p) => (
            <span key={p.pipeline} className="pill" data-pipeline={p.pipeline}>
              {p.pipeline} ({p.runs.join(", ")})
            </span>
          ))}
        </span>
        <span className="muted" data-testid="lineage-stats">
          {d.nodes.length} nodes · {d.stats.requests} API requests · {d.stats.ms} ms
        </span>
        {d.truncated && <span className="error">graph truncated (bounded walk)</span>}
      </div>
      <div className="lgraph" style={{ width: layout.width, height: layout.height }}>
        <svg width={layout.width} height={layout.height}>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" />
            </marker>
          </defs>
          {d.edges.map((e) => {
            const a = layout.pos.get(e.source);
            const b = layout.pos.get(e.target);
            if (!a || !b) return null;
            const x1 = a.x + W;
            const y1 = a.y + H / 2;
            const x2 = b.x;
            const y2 = b.y + H / 2;
            const mx = (x1 + x2) / 2;
            return (
              <g key={`${e.source}>${e.target}`}>
                <path d={`M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`} fill="none" stroke="#94a3b8" strokeWidth={1.5} markerEnd="url(#arrow)" />
                {e.label && (
                  <text x={mx} y={(y1 + y2) / 2 - 3} fontSize={10} fill="#475569" textAnchor="middle">
                    {e.label}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
        {d.nodes.map((n) => {
          const p = layout.pos.get(n.id)!;
          return (
            <div key={n.id} className="lslot" style={{ left: p.x, top: p.y, width: W, height: H }} data-testid={`lnode-${n.id}`} data-kind={n.kind} data-side={n.side} data-pipeline={n.pipeline || ""}>
              <NodeBox n={n} />
            </div>
          );
        })}
      </div>
    </section>
  );
}
