// The run's graph: step, artifact, group and triggered-run nodes, and the edges between them.
// Structure only (no positions): the layout runs in a worker, and status changes do not
// change the structure, so they never trigger a new layout.

import type { DagData } from "../api";

export const FANOUT_LIMIT = 12;

export type NodeKind = "step" | "artifact" | "external" | "group" | "triggered";

export interface GNode {
  id: string;
  kind: NodeKind;
  label: string;
  width: number;
  height: number;
  step?: string; // step id (step and artifact nodes)
  members?: string[]; // step ids in a collapsed group
  run?: string; // triggered run name
}

export interface GEdge {
  id: string;
  source: string;
  target: string;
  dashed?: boolean;
}

export const SIZE: Record<NodeKind, [number, number]> = {
  step: [190, 46],
  artifact: [150, 30],
  external: [150, 30],
  group: [220, 58],
  triggered: [190, 40],
};

function node(id: string, kind: NodeKind, label: string, extra: Partial<GNode> = {}): GNode {
  const [width, height] = SIZE[kind];
  return { id, kind, label, width, height, ...extra };
}

/** Steps to hide in groups: siblings with identical upstream sources, more than FANOUT_LIMIT. */
export function fanoutGroups(page: DagData): Map<string, string[]> {
  const bySig = new Map<string, string[]>();
  for (const s of page.steps) {
    const ups = [
      ...s.inputs.map((i) => (i.step ? `${i.step}/${i.output}` : `ext:${i.artifact?.name}`)),
      ...s.after.map((a) => `after:${a}`),
    ].sort();
    const sig = ups.join("|") + "#" + (s.function || "");
    const list = bySig.get(sig);
    if (list) list.push(s.id);
    else bySig.set(sig, [s.id]);
  }
  const groups = new Map<string, string[]>();
  for (const [sig, ids] of bySig) if (ids.length > FANOUT_LIMIT) groups.set(`group:${sig}`, ids);
  return groups;
}

export function buildGraph(page: DagData, expanded: Set<string>): { nodes: GNode[]; edges: GEdge[]; groupOf: Map<string, string> } {
  const groups = fanoutGroups(page);
  const groupOf = new Map<string, string>();
  for (const [gid, ids] of groups) if (!expanded.has(gid)) for (const id of ids) groupOf.set(id, gid);
  const nodes: GNode[] = [];
  const edges: GEdge[] = [];
  const edgeIds = new Set<string>();
  const addEdge = (source: string, target: string, dashed = false) => {
    const id = `${source}->${target}`;
    if (source === target || edgeIds.has(id)) return;
    edgeIds.add(id);
    edges.push({ id, source, target, dashed });
  };
  const stepNode = (sid: string) => groupOf.get(sid) || `step:${sid}`;
  // artifact node of an output: a grouped step's outputs fold into the group node
  const artNode = (sid: string, out: string) => (groupOf.has(sid) ? groupOf.get(sid)! : `art:${sid}/${out}`);

  for (const [gid, ids] of groups) {
    if (expanded.has(gid)) continue;
    const first = page.steps.find((s) => s.id === ids[0]);
    nodes.push(node(gid, "group", `${ids.length} × ${first?.function || ids[0]}`, { members: ids }));
  }
  for (const s of page.steps) {
    if (!groupOf.has(s.id)) nodes.push(node(`step:${s.id}`, "step", s.id, { step: s.id }));
  }
  for (const a of page.artifacts) {
    if (groupOf.has(a.step)) continue;
    nodes.push(node(`art:${a.id}`, "artifact", a.output, { step: a.step }));
    addEdge(`step:${a.step}`, `art:${a.id}`);
  }
  const externals = new Set<string>();
  for (const s of page.steps) {
    const target = stepNode(s.id);
    for (const i of s.inputs) {
      if (i.step) addEdge(artNode(i.step, i.output || ""), target);
      else if (i.artifact) {
        const ext = `ext:${i.artifact.name}@${i.artifact.version || i.artifact.id || "latest"}`;
        if (!externals.has(ext)) {
          externals.add(ext);
          nodes.push(node(ext, "external", `${i.artifact.name}${i.artifact.version ? ` v${i.artifact.version}` : ""}`));
        }
        addEdge(ext, target);
      }
    }
    for (const a of s.after) addEdge(stepNode(a), target, true);
  }
  for (const t of page.triggeredRuns) {
    const id = `run:${t.name}`;
    nodes.push(node(id, "triggered", t.name, { run: t.name, step: t.step }));
    addEdge(stepNode(t.step), id, true);
  }
  return { nodes, edges, groupOf };
}
