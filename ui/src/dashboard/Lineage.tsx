// Lineage across pipelines: from an artifact version or a model version, what it came from
// (producing steps and runs, their inputs, in any pipeline) and what consumed it. Columns
// left to right: upstream, the start, downstream.
import { useEffect, useMemo, useRef, useState } from "react";
import { getJson, withNs } from "../api";
import { statusColor, statusInk } from "../colors";
import { fastLayered } from "../graph/layout";
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

// Node sizes and gaps (px, before zoom). Steps are wider than artifacts; each column is as
// wide as its widest node.
const STEP_W = 170;
const ART_W = 150;
const H = 56;
const GAP_X = 84; // between columns: room for an edge label at the source end
const LANE = 12; // between the lanes under the graph that edges skipping a column follow
const MIN_ZOOM = 0.5;
const MAX_ZOOM = 1.5;

function NodeBox({ n }: { n: LNode }) {
  if (n.kind === "step")
    return (
      <a className="lnode step" title={`step ${n.step} of run ${n.run} (${n.pipeline})`} href={withNs(`/runs/${n.run}`)} style={{ background: statusColor(n.status || "completed"), color: statusInk(n.status || "completed") }}>
        <div className="name">{n.step}</div>
        <div className="sub">
          {n.pipeline} · {n.run}
        </div>
      </a>
    );
  if (n.kind === "model")
    return (
      <a className="lnode model" title={`model ${n.model} version ${n.version} (${n.stage})`} href={withNs(`/models/${encodeURIComponent(n.model || "")}`)}>
        <div className="name">
          {n.model} v{n.version}
        </div>
        <div className="sub">model version · {n.stage}</div>
      </a>
    );
  return (
    <a className={`lnode artifact${n.root ? " root" : ""}`} title={`${n.name} v${n.version}`} href={withNs(`/artifacts/${encodeURIComponent(n.name || "")}`, { version: n.objectName })}>
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
  const layout = useMemo(() => (d ? lineageLayout(d) : null), [d]);
  const viewport = useRef<HTMLDivElement>(null);
  const [avail, setAvail] = useState(0);
  const [zoom, setZoom] = useState<number | null>(null); // null: fit to the width
  useEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const measure = () => setAvail(el.clientWidth);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [layout]);
  if (error) return <Problem error={error} />;
  if (!d || !layout) return <div className="loading">tracing lineage…</div>;
  const fit = avail ? clampZoom(Math.min(1, (avail - 2) / layout.width)) : 1;
  const scale = zoom ?? fit;
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
      <div className="lzoom">
        <button onClick={() => setZoom(clampZoom(scale / 1.25))} title="zoom out" data-testid="lineage-zoom-out">
          −
        </button>
        <button onClick={() => setZoom(null)} title="fit the graph to the width" data-testid="lineage-fit" className={zoom === null ? "on" : undefined}>
          fit
        </button>
        <button onClick={() => setZoom(1)} title="actual size" data-testid="lineage-100">
          100%
        </button>
        <button onClick={() => setZoom(clampZoom(scale * 1.25))} title="zoom in" data-testid="lineage-zoom-in">
          +
        </button>
        <span className="muted" data-testid="lineage-zoom">
          {Math.round(scale * 100)}%
        </span>
      </div>
      <div className="lviewport" ref={viewport} data-testid="lineage-viewport">
        <div style={{ width: layout.width * scale, height: layout.height * scale }}>
          <div className="lgraph" style={{ width: layout.width, height: layout.height, transform: `scale(${scale})` }} data-testid="lineage-graph" data-scale={scale.toFixed(3)}>
            <svg width={layout.width} height={layout.height}>
              <defs>
                <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                  <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" />
                </marker>
              </defs>
              {layout.edges.map((e) => (
                <path key={`${e.source}>${e.target}`} d={e.path} fill="none" stroke="#94a3b8" strokeWidth={1.5} markerEnd="url(#arrow)" />
              ))}
              {layout.labels.map((l) => (
                <text key={l.key} className="llabel" x={l.x} y={l.y} data-testid={`llabel-${l.key}`}>
                  <title>{l.text}</title>
                  {l.shown}
                </text>
              ))}
            </svg>
            {d.nodes.map((n) => {
              const p = layout.pos.get(n.id)!;
              return (
                <div key={n.id} className="lslot" style={{ left: p.x, top: p.y, width: p.w, height: H }} data-testid={`lnode-${n.id}`} data-kind={n.kind} data-side={n.side} data-pipeline={n.pipeline || ""}>
                  <NodeBox n={n} />
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </section>
  );
}

function clampZoom(z: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));
}

interface Placed {
  x: number;
  y: number;
  w: number;
}

interface PlacedEdge {
  source: string;
  target: string;
  path: string;
}

interface PlacedLabel {
  key: string;
  text: string;
  /** the label as drawn: cut to fit the gap after its source */
  shown: string;
  x: number;
  y: number;
}

const LABEL_H = 13; // px between two labels' baselines

const LABEL_CHAR = 6.2; // px per character of an 11 px label (approximate, for cutting)

/** Columns left to right by longest path (every edge points right), rows ordered by
 * barycentre sweeps (the run DAG's fast layered layout, turned on its side). Each node's
 * edges leave and arrive at their own ports, spread over its height in the order of the
 * nodes at their other ends, and an edge's label sits just after its source port: labels
 * of one node's edges stack instead of meeting at a shared midpoint (edges of one node with
 * the same label share one, at the middle of their ports; labels closer than a line are
 * pushed apart). */
function lineageLayout(d: LineageData): { pos: Map<string, Placed>; edges: PlacedEdge[]; labels: PlacedLabel[]; width: number; height: number } {
  const widthOf = (n: LNode) => (n.kind === "step" ? STEP_W : ART_W);
  // fastLayered stacks layers downwards: give it the nodes turned 90 degrees
  const turned = fastLayered(
    d.nodes.map((n) => ({ id: n.id, width: H, height: widthOf(n) })),
    d.edges.map((e) => ({ id: `${e.source}>${e.target}`, source: e.source, target: e.target })),
  );
  // layer index by its (turned) y; a column is as wide as its widest node
  const layerYs = [...new Set(Object.values(turned).map((p) => p.y))].sort((a, b) => a - b);
  const layerOf = new Map(layerYs.map((y, i) => [y, i]));
  const colW = layerYs.map(() => 0);
  for (const n of d.nodes) {
    const c = layerOf.get(turned[n.id].y)!;
    colW[c] = Math.max(colW[c], widthOf(n));
  }
  const colX: number[] = [];
  let x = 0;
  for (const w of colW) {
    colX.push(x);
    x += w + GAP_X;
  }
  const width = Math.max(x - GAP_X, 1) + 2;
  const minY = Math.min(...Object.values(turned).map((p) => p.x), 0);
  const pos = new Map<string, Placed>();
  let height = H;
  for (const n of d.nodes) {
    const t = turned[n.id];
    const y = t.x - minY + 4;
    pos.set(n.id, { x: colX[layerOf.get(t.y)!], y, w: widthOf(n) });
    height = Math.max(height, y + H + 4);
  }
  // ports: a node's outgoing edges ordered by their targets' y, incoming by their sources'
  const outs = new Map<string, typeof d.edges>();
  const ins = new Map<string, typeof d.edges>();
  for (const e of d.edges) {
    if (!pos.has(e.source) || !pos.has(e.target)) continue;
    (outs.get(e.source) || outs.set(e.source, []).get(e.source)!).push(e);
    (ins.get(e.target) || ins.set(e.target, []).get(e.target)!).push(e);
  }
  const portY = new Map<string, number>();
  const spread = (list: typeof d.edges, node: string, other: (e: (typeof d.edges)[0]) => string, side: string) => {
    const sorted = [...list].sort((a, b) => pos.get(other(a))!.y - pos.get(other(b))!.y);
    const top = pos.get(node)!.y;
    sorted.forEach((e, i) => portY.set(`${side}:${e.source}>${e.target}`, top + (H * (i + 1)) / (sorted.length + 1)));
  };
  for (const [node, list] of outs) spread(list, node, (e) => e.target, "out");
  for (const [node, list] of ins) spread(list, node, (e) => e.source, "in");
  const edges: PlacedEdge[] = [];
  const rowsBottom = height;
  let lanes = 0;
  for (const e of d.edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    const key = `${e.source}>${e.target}`;
    const x1 = a.x + a.w;
    const y1 = portY.get(`out:${key}`)!;
    const x2 = b.x;
    const y2 = portY.get(`in:${key}`)!;
    const bend = Math.min(GAP_X / 2, Math.max(24, (x2 - x1) / 2));
    let path = `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
    if (x2 - x1 > GAP_X + 1) {
      // skips a column: down to a lane of its own under the nodes, along it, and up, so it
      // never runs behind the nodes it passes
      const lane = rowsBottom + LANE * ++lanes;
      path =
        `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x1 + bend} ${lane}, ${x1 + 2 * bend} ${lane} ` +
        `L ${x2 - 2 * bend} ${lane} C ${x2 - bend} ${lane}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
    }
    edges.push({ source: e.source, target: e.target, path });
  }
  // labels: one per (source, label), at the middle of its ports, then pushed apart
  const room = Math.floor((GAP_X - 12) / LABEL_CHAR);
  const labels: PlacedLabel[] = [];
  for (const [node, list] of outs) {
    const groups = new Map<string, number[]>();
    for (const e of list) {
      if (!e.label) continue;
      (groups.get(e.label) || groups.set(e.label, []).get(e.label)!).push(portY.get(`out:${e.source}>${e.target}`)!);
    }
    const placed = [...groups.entries()]
      .map(([text, ys]) => ({ text, y: ys.reduce((a, y) => a + y, 0) / ys.length }))
      .sort((a, b) => a.y - b.y);
    let last = -Infinity;
    const p = pos.get(node)!;
    for (const l of placed) {
      const y = Math.max(l.y - 3, last + LABEL_H);
      last = y;
      labels.push({
        key: `${node}:${l.text}`,
        text: l.text,
        shown: l.text.length > room ? `${l.text.slice(0, room - 1)}…` : l.text,
        x: p.x + p.w + 4,
        y,
      });
    }
  }
  return { pos, edges, labels, width, height: height + LANE * lanes + (lanes ? 6 : 0) };
}
