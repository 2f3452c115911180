// Talking to the UI server: JSON, server-sent events, and errors the pages show.

export class ApiError extends Error {
  constructor(
    public status: number,
    public body: Record<string, any>,
  ) {
    super(body.message || `HTTP ${status}`);
  }
}

function csrfToken(): string {
  const m = document.cookie.match(/(?:^|;\s*)kubeline-csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export function currentNamespace(): string | null {
  return new URLSearchParams(window.location.search).get("ns");
}

export function withNs(path: string, params: Record<string, string | null | undefined> = {}): string {
  const q = new URLSearchParams();
  const ns = currentNamespace();
  if (ns) q.set("ns", ns);
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function getJson<T>(path: string, params: Record<string, string | null | undefined> = {}): Promise<T> {
  const resp = await fetch(withNs(path, params), { credentials: "same-origin" });
  const body = await resp.json().catch(() => ({ message: resp.statusText }));
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body as T;
}

export async function postJson<T>(path: string, data: unknown): Promise<T> {
  const resp = await fetch(withNs(path), {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-kubeline-csrf": csrfToken() },
    body: JSON.stringify(data),
  });
  const body = await resp.json().catch(() => ({ message: resp.statusText }));
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body as T;
}

/** Subscribe to server-sent events; returns a function that closes the stream. */
export function subscribe(
  path: string,
  params: Record<string, string | null | undefined>,
  handlers: Record<string, (data: any) => void>,
): () => void {
  const source = new EventSource(withNs(path, params));
  for (const [event, fn] of Object.entries(handlers)) {
    source.addEventListener(event, (e) => {
      // an error the server reports ends the stream: no automatic reconnect loop
      if (event === "error") source.close();
      fn(JSON.parse((e as MessageEvent).data));
    });
  }
  return () => source.close();
}

export interface StepState {
  id: string;
  phase: string;
  attempts?: number;
  pod?: string;
  startTime?: string;
  endTime?: string;
  nextRetryTime?: string;
  cachedFrom?: { run: string; step: string };
  outputs?: Record<string, string>;
  message?: string;
  reason?: string;
}

export interface StepNode extends StepState {
  function?: string;
  inputs: { name: string; step?: string; output?: string; artifact?: { name: string; version?: string; id?: string } }[];
  outputNames: string[];
  after: string[];
  enableCache?: boolean;
}

export interface ArtifactSlot {
  id: string;
  step: string;
  output: string;
  artifactName: string;
  dataType: string;
  artifactVersion?: string | null;
}

export interface RunSummary {
  name: string;
  namespace: string;
  uid: string;
  status: string;
  pipeline?: string;
  snapshot?: string;
  index?: number;
  created?: string;
  startTime?: string;
  endTime?: string;
  duration?: string;
  progress?: string;
  reason?: string;
  message?: string;
  failedStep?: string;
  cancelRequested?: boolean;
  triggeredBy?: { run: string; step: string; verified?: boolean | null; provenance?: string | null } | null;
  resourceVersion?: string;
}

/** What a DAG is drawn from: a run page, or a snapshot page (every step pending). */
export interface DagData {
  steps: StepNode[];
  artifacts: ArtifactSlot[];
  triggeredRuns: { name: string; status: string; step: string }[];
}

export interface RunPage extends DagData {
  run: RunSummary;
  snapshotMissing: boolean;
}
