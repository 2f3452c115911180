// The run's DAG: React Flow draws the nodes the worker laid out; status only recolours.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
  type ReactFlowInstance,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { DagData, StepState } from "../api";
import { statusColor, statusInk } from "../colors";
import { buildGraph, type GNode } from "./build";
import type { Positions } from "./layout";

export type Selection = { kind: "step"; id: string } | { kind: "artifact"; id: string; step: string; output: string } | null;

interface NodeData extends Record<string, unknown> {
  g: GNode;
  status: string;
  counts?: Record<string, number>;
  selected?: boolean;
  cachedFrom?: { run: string; step: string };
  artifactVersion?: string | null;
  onOpenGroup?: (id: string) => void;
}

const hidden = { opacity: 0, width: 1, height: 1, border: 0, minWidth: 0, minHeight: 0 };

const StepView = memo(({ data }: NodeProps<Node<NodeData>>) => {
  const { g, status, selected, cachedFrom } = data;
  return (
    <div
      className={`node step${selected ? " selected" : ""}`}
      data-testid={`step-${g.step}`}
      data-status={status}
      title={`${g.step}: ${status}`}
      style={{ background: statusColor(status), color: statusInk(status), width: g.width, height: g.height }}
    >
      <Handle type="target" position={Position.Top} style={hidden} isConnectable={false} />
      <span className="name">{g.label}</span>
      <span className="phase">
        {status}
        {cachedFrom ? " ↺" : ""}
      </span>
      <Handle type="source" position={Position.Bottom} style={hidden} isConnectable={false} />
    </div>
  );
});

const ArtifactView = memo(({ data }: NodeProps<Node<NodeData>>) => {
  const { g, status, selected, artifactVersion } = data;
  return (
    <div
      className={`node artifact${selected ? " selected" : ""}${artifactVersion ? "" : " missing"}`}
      data-testid={`artifact-${g.id.slice(4)}`}
      data-status={status}
      style={{ borderColor: statusColor(status), width: g.width, height: g.height }}
      title={artifactVersion || "not saved yet"}
    >
      <Handle type="target" position={Position.Top} style={hidden} isConnectable={false} />
      <span className="dot" style={{ background: statusColor(status) }} />
      <span className="name">{g.label}</span>
      <Handle type="source" position={Position.Bottom} style={hidden} isConnectable={false} />
    </div>
  );
});

const ExternalView = memo(({ data }: NodeProps<Node<NodeData>>) => (
  <div className="node artifact external" style={{ width: data.g.width, height: data.g.height }}>
    <span className="name">{data.g.label}</span>
    <Handle type="source" position={Position.Bottom} style={hidden} isConnectable={false} />
  </div>
));

const GroupView = memo(({ data }: NodeProps<Node<NodeData>>) => {
  const { g, counts, onOpenGroup } = data;
  const total = g.members?.length || 1;
  return (
    <div className="node group" data-testid={`group-${g.members?.[0]}`} style={{ width: g.width, height: g.height }}>
      <Handle type="target" position={Position.Top} style={hidden} isConnectable={false} />
      <span className="name">{g.label}</span>
      <span className="bar">
        {Object.entries(counts || {}).map(([phase, c]) => (
          <span key={phase} title={`${c} ${phase}`} style={{ width: `${(100 * c) / total}%`, background: statusColor(phase) }} />
        ))}
      </span>
      <button className="link" onClick={() => onOpenGroup?.(g.id)}>
        expand
      </button>
      <Handle type="source" position={Position.Bottom} style={hidden} isConnectable={false} />
    </div>
  );
});

const TriggeredView = memo(({ data }: NodeProps<Node<NodeData>>) => (
  <div
    className="node triggered"
    data-testid={`triggered-${data.g.run}`}
    style={{ borderColor: statusColor(data.status), width: data.g.width, height: data.g.height }}
  >
    <Handle type="target" position={Position.Top} style={hidden} isConnectable={false} />
    <a href={`/runs/${encodeURIComponent(data.g.run || "")}${window.location.search}`}>run {data.g.label}</a>
    <span className="phase">{data.status}</span>
  </div>
));

// "group" is React Flow's own sub-flow type (with its own styling): fan-outs are "fanout".
const nodeTypes = { step: StepView, artifact: ArtifactView, external: ExternalView, fanout: GroupView, triggered: TriggeredView };

// Started when this module loads, so the worker is ready by the time a run's JSON arrives.
let worker: Worker | null = typeof Worker !== "undefined" ? startWorker() : null;
let seq = 0;
function startWorker(): Worker {
  return new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module" });
}
function layoutInWorker(nodes: GNode[], edges: { id: string; source: string; target: string }[]): Promise<{ positions: Positions; engine: string; ms: number }> {
  worker ||= startWorker();
  const id = ++seq;
  return new Promise((resolve) => {
    const w = worker!;
    const onMessage = (e: MessageEvent) => {
      if (e.data.id !== id) return;
      w.removeEventListener("message", onMessage);
      resolve(e.data);
    };
    w.addEventListener("message", onMessage);
    w.postMessage({ id, nodes: nodes.map(({ id, width, height }) => ({ id, width, height })), edges });
  });
}

const OVERVIEW_LIMIT = 300;

function initialView(nodes: GNode[], positions: Positions) {
  if (nodes.length <= OVERVIEW_LIMIT) return { padding: 0.1, maxZoom: 1.2 };
  const top = [...nodes].sort((a, b) => (positions[a.id]?.y ?? 0) - (positions[b.id]?.y ?? 0)).slice(0, 40);
  return { padding: 0.15, maxZoom: 1, nodes: top.map((n) => ({ id: n.id })) };
}

export interface DagProps {
  page: DagData;
  states: Map<string, StepState>;
  selection: Selection;
  onSelect: (s: Selection) => void;
  focus: { id: string; n: number } | null;
  triggeredStatus: Map<string, string>;
  /** A side panel is open: the canvas is narrower, the minimap would hide nodes. */
  compact?: boolean;
}

export function Dag({ page, states, selection, onSelect, focus, triggeredStatus, compact }: DagProps) {
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const graph = useMemo(() => buildGraph(page, expanded), [page, expanded]);
  const [positions, setPositions] = useState<Positions | null>(null);
  const [engine, setEngine] = useState("");
  const flow = useRef<ReactFlowInstance<Node<NodeData>, Edge> | null>(null);
  const ready = useRef(false);

  useEffect(() => {
    let live = true;
    layoutInWorker(graph.nodes, graph.edges).then((r) => {
      if (!live) return;
      performance.mark("kubeline:layout-done");
      setPositions(r.positions);
      setEngine(`${r.engine} ${Math.round(r.ms)} ms`);
    });
    return () => {
      live = false;
    };
  }, [graph]);

  // a searched step inside a collapsed group: expand the group first
  useEffect(() => {
    if (!focus) return;
    const gid = graph.groupOf.get(focus.id);
    if (gid) setExpanded((e) => new Set([...e, gid]));
  }, [focus, graph]);

  const openGroup = useCallback((id: string) => setExpanded((e) => new Set([...e, id])), []);

  // Node objects are kept between renders and replaced only when what they show changes, so
  // a status update or a selection re-renders one node, not all 2,000.
  const nodeCache = useRef(new Map<string, { sig: string; node: Node<NodeData> }>());
  const nodes: Node<NodeData>[] = useMemo(() => {
    if (!positions) return [];
    const cache = nodeCache.current;
    const next = new Map<string, { sig: string; node: Node<NodeData> }>();
    const out = graph.nodes.map((g) => {
      let status = "pending";
      let counts: Record<string, number> | undefined;
      let cachedFrom;
      let artifactVersion: string | null | undefined;
      if (g.kind === "step" || g.kind === "artifact") {
        const st = states.get(g.step!);
        status = st?.phase || "pending";
        cachedFrom = st?.cachedFrom;
        if (g.kind === "artifact") artifactVersion = st?.outputs?.[g.label] ?? null;
      } else if (g.kind === "group") {
        counts = {};
        for (const m of g.members || []) {
          const p = states.get(m)?.phase || "pending";
          counts[p] = (counts[p] || 0) + 1;
        }
      } else if (g.kind === "triggered") status = triggeredStatus.get(g.run!) || "pending";
      const sel =
        (selection?.kind === "step" && g.kind === "step" && g.step === selection.id) ||
        (selection?.kind === "artifact" && g.id === `art:${selection.step}/${selection.output}`);
      const pos = positions[g.id] || { x: 0, y: 0 };
      const sig = `${pos.x},${pos.y}|${status}|${sel}|${cachedFrom ? 1 : 0}|${artifactVersion ?? ""}|${counts ? JSON.stringify(counts) : ""}`;
      const old = cache.get(g.id);
      if (old && old.sig === sig && old.node.data.g === g) {
        next.set(g.id, old);
        return old.node;
      }
      const node: Node<NodeData> = {
        id: g.id,
        type: g.kind === "group" ? "fanout" : g.kind,
        position: pos,
        data: { g, status, counts, selected: sel, cachedFrom, artifactVersion, onOpenGroup: openGroup },
        draggable: false,
        connectable: false,
        width: g.width,
        height: g.height,
      };
      next.set(g.id, { sig, node });
      return node;
    });
    nodeCache.current = next;
    return out;
  }, [graph, positions, states, selection, openGroup, triggeredStatus]);

  const edges: Edge[] = useMemo(
    () =>
      graph.edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        type: graph.nodes.length > 600 ? "straight" : "default",
        style: e.dashed ? { strokeDasharray: "4 4" } : undefined,
        focusable: false,
      })),
    [graph],
  );

  // centre a searched step once it is laid out (after its group opened, if it was in one)
  const centred = useRef<number>(0);
  const centreOn = useCallback(() => {
    if (!focus || !positions || !flow.current || centred.current === focus.n) return false;
    const p = positions[`step:${focus.id}`];
    if (!p) return false;
    centred.current = focus.n;
    flow.current.setCenter(p.x + 95, p.y + 23, { zoom: 1.2, duration: 300 });
    return true;
  }, [focus, positions]);
  useEffect(() => {
    centreOn();
  }, [centreOn]);

  const onNodeClick = useCallback(
    (_: unknown, n: Node<NodeData>) => {
      const g = n.data.g;
      if (g.kind === "step") onSelect({ kind: "step", id: g.step! });
      else if (g.kind === "artifact") onSelect({ kind: "artifact", id: g.id, step: g.step!, output: g.label });
    },
    [onSelect],
  );

  const markReady = useCallback(() => {
    if (ready.current) return;
    ready.current = true;
    requestAnimationFrame(() => {
      (window as any).__kubelineDagReady = performance.now();
      performance.mark("kubeline:dag-ready");
      document.getElementById("dag")?.setAttribute("data-ready", "1");
    });
  }, []);

  useEffect(() => {
    if (positions && nodes.length && flow.current) {
      // fit the whole graph, unless a searched step was (or is now) centred: keep that view.
      // A large graph opens at its sources, readable (Fit in the controls shows all of it).
      if (!centreOn() && !(focus && centred.current === focus.n)) flow.current.fitView(initialView(graph.nodes, positions));
      markReady();
    }
  }, [positions]); // eslint-disable-line react-hooks/exhaustive-deps

  const big = graph.nodes.length > OVERVIEW_LIMIT;
  return (
    <div id="dag" className="dag" data-engine={engine} data-nodes={graph.nodes.length}>
      {!positions && <div className="loading">laying out {graph.nodes.length} nodes…</div>}
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onInit={(inst) => {
          flow.current = inst;
          if (positions) {
            inst.fitView(initialView(graph.nodes, positions));
            markReady();
          }
        }}
        onNodeClick={onNodeClick}
        onPaneClick={() => onSelect(null)}
        onlyRenderVisibleElements={big}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        minZoom={0.02}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
        {!big && !compact && <MiniMap pannable zoomable nodeColor={(n) => statusColor((n.data as NodeData).status)} />}
      </ReactFlow>
    </div>
  );
}
