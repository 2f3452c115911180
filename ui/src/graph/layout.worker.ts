// The layout worker: the main thread stays responsive while a large run is laid out.
import ElkApi from "elkjs/lib/elk-api.js";
import elkWorkerUrl from "elkjs/lib/elk-worker.min.js?url";
import { ELK_LIMIT, fastLayered, type LEdge, type LNode, type Positions } from "./layout";

// ELK's own worker script, started from this worker (the bundled build cannot run in one),
// and only when a graph is small enough for it: large runs never load ELK's 1.6 MB.
let elk: InstanceType<typeof ElkApi> | null = null;

async function layout(nodes: LNode[], edges: LEdge[]): Promise<{ positions: Positions; engine: string }> {
  if (nodes.length > ELK_LIMIT) return { positions: fastLayered(nodes, edges), engine: "layered-fast" };
  elk ||= new ElkApi({ workerFactory: () => new Worker(elkWorkerUrl) });
  const res = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.layered.spacing.nodeNodeBetweenLayers": "36",
      "elk.spacing.nodeNode": "22",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.edgeRouting": "POLYLINE",
    },
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const positions: Positions = {};
  for (const c of res.children || []) positions[c.id] = { x: c.x || 0, y: c.y || 0 };
  return { positions, engine: "elk" };
}

self.onmessage = async (e: MessageEvent<{ id: number; nodes: LNode[]; edges: LEdge[] }>) => {
  const { id, nodes, edges } = e.data;
  const started = performance.now();
  const { positions, engine } = await layout(nodes, edges);
  (self as unknown as Worker).postMessage({ id, positions, engine, ms: performance.now() - started });
};
