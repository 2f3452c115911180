// Compare 2–5 runs of a pipeline: parameters (differing rows highlighted), steps (cached or
// not, and which cache-key parts differ from the first run), durations, numeric metadata as
// a table and a bar chart, and the outputs' metadata.
import { useEffect, useState } from "react";
import { getJson, withNs, type RunSummary } from "../api";
import { dur } from "../format";
import { Problem } from "../pages/Problem";
import { StatusChip } from "../pages/StatusChip";
import { navigate } from "../router";
import "./dashboard.css";

interface Cell {
  status?: string;
  duration?: number | null;
  cacheKey?: string | null;
  cachedFrom?: { run: string; step: string } | null;
  changes: { part: string; detail: string }[];
}

interface Comparison {
  runs: RunSummary[];
  parameters: { step: string; name: string; values: unknown[]; differs: boolean }[];
  steps: { id: string; runs: Cell[]; differs: boolean }[];
  metrics: { source: string; name: string; values: (number | null)[] }[];
  outputs: { step: string; output: string; runs: { artifactVersion?: string; metadata: Record<string, unknown> }[] }[];
}

const BAR_COLORS = ["#2563eb", "#16a34a", "#f97316", "#7c3aed", "#dc2626"];

function show(v: unknown): string {
  if (v === undefined || v === null) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function Picker({ pipeline }: { pipeline: string }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    getJson<{ items: RunSummary[] }>("/api/runs", { pipeline, limit: "100" })
      .then((r) => setRuns(r.items))
      .catch(setError);
  }, [pipeline]);
  if (error) return <Problem error={error} />;
  if (!runs) return <div className="loading">loading runs…</div>;
  const toggle = (name: string) => setPicked((p) => (p.includes(name) ? p.filter((x) => x !== name) : p.length < 5 ? [...p, name] : p));
  return (
    <section>
      <h1>Compare runs {pipeline && <span className="muted">of {pipeline}</span>}</h1>
      <p className="muted">Pick two to five runs.</p>
      <table className="list" data-testid="compare-picker">
        <tbody>
          {runs.map((r) => (
            <tr key={r.name}>
              <td>
                <input type="checkbox" checked={picked.includes(r.name)} onChange={() => toggle(r.name)} data-testid={`pick-${r.name}`} />
              </td>
              <td>{r.name}</td>
              <td>
                <StatusChip status={r.status} />
              </td>
              <td className="muted">{r.duration}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button disabled={picked.length < 2} onClick={() => navigate(withNs("/compare", { pipeline, runs: picked.join(",") }))} data-testid="compare-go">
        compare {picked.length} runs
      </button>
    </section>
  );
}

/** A run's name by its last two parts (time and suffix: ``…-162034-135e``), for a chart. */
function shortRun(name: string): string {
  const parts = name.split("-");
  return parts.length > 2 ? `…${parts.slice(-2).join("-")}` : name;
}

function BarChart({ metric, runs }: { metric: Comparison["metrics"][number]; runs: RunSummary[] }) {
  const values = metric.values.map((v) => (typeof v === "number" ? v : 0));
  const max = Math.max(...values.map(Math.abs), 1e-12);
  const w = 260;
  const bar = 18;
  return (
    <figure className="bars" data-testid={`chart-${metric.source}.${metric.name}`}>
      <figcaption>
        {metric.source} · <b>{metric.name}</b>
      </figcaption>
      <svg width={w + 150} height={runs.length * (bar + 6)} role="img">
        {metric.values.map((v, i) => (
          <g key={i} transform={`translate(0 ${i * (bar + 6)})`}>
            <text x={0} y={bar - 5} fontSize={11}>
              <title>{runs[i]?.name}</title>
              {shortRun(runs[i]?.name || "")}
            </text>
            <rect x={110} y={0} height={bar} width={typeof v === "number" ? Math.max(1, (Math.abs(v) / max) * w) : 0} fill={BAR_COLORS[i % BAR_COLORS.length]} />
            <text x={115 + (typeof v === "number" ? (Math.abs(v) / max) * w : 0)} y={bar - 5} fontSize={11}>
              {v === null ? "—" : Number(v).toPrecision(4)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

export function Compare({ query }: { query: URLSearchParams }) {
  const pipeline = query.get("pipeline") || "";
  const runsParam = query.get("runs") || "";
  const [d, setD] = useState<Comparison | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (runsParam) getJson<Comparison>("/api/compare", { runs: runsParam }).then(setD).catch(setError);
  }, [runsParam]);
  if (!runsParam) return <Picker pipeline={pipeline} />;
  if (error) return <Problem error={error} />;
  if (!d) return <div className="loading">comparing…</div>;
  const head = (
    <thead>
      <tr>
        <th></th>
        {d.runs.map((r) => (
          <th key={r.name}>
            <a href={withNs(`/runs/${r.name}`)}>{r.name}</a> <StatusChip status={r.status} />
          </th>
        ))}
      </tr>
    </thead>
  );
  return (
    <section className="compare" data-testid="compare">
      <h1>
        Compare {d.runs.length} runs <span className="muted">of {d.runs[0]?.pipeline}</span>
      </h1>
      <h3>Parameters</h3>
      <table className="list cmp" data-testid="cmp-parameters">
        {head}
        <tbody>
          {d.parameters.map((p) => (
            <tr key={`${p.step}.${p.name}`} className={p.differs ? "differs" : undefined} data-testid={`param-${p.step}.${p.name}`} data-differs={p.differs ? "1" : "0"}>
              <td>
                <span className="muted">{p.step}.</span>
                <b>{p.name}</b>
              </td>
              {p.values.map((v, i) => (
                <td key={i} className="mono">
                  {show(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Steps: cache and duration</h3>
      <table className="list cmp" data-testid="cmp-steps">
        {head}
        <tbody>
          {d.steps.map((s) => (
            <tr key={s.id} className={s.differs ? "differs" : undefined} data-testid={`cmp-step-${s.id}`} data-differs={s.differs ? "1" : "0"}>
              <td>
                <b>{s.id}</b>
              </td>
              {s.runs.map((c, i) => (
                <td key={i} data-testid={`cmp-step-${s.id}-${i}`} data-status={c.status}>
                  <StatusChip status={c.status} /> {dur(c.duration)}
                  {c.status === "cached" && c.cachedFrom ? (
                    <div className="muted">cache hit: outputs of {c.cachedFrom.run}</div>
                  ) : i > 0 && c.changes.length ? (
                    <div className="cache-miss" data-testid={`cache-miss-${s.id}-${i}`}>
                      cache miss:
                      <ul>
                        {c.changes.map((ch, j) => (
                          <li key={j}>
                            <span className="muted">{ch.part}</span> {ch.detail}
                          </li>
                        ))}
                      </ul>
                    </div>
                  ) : null}
                  <div className="mono muted" title={c.cacheKey || ""}>
                    {c.cacheKey ? `key ${c.cacheKey.slice(0, 12)}` : ""}
                  </div>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Numeric metadata</h3>
      {d.metrics.length ? (
        <>
          <table className="list cmp" data-testid="cmp-metrics">
            {head}
            <tbody>
              {d.metrics.map((m) => (
                <tr key={`${m.source}.${m.name}`} data-testid={`metric-${m.source}.${m.name}`}>
                  <td>
                    <span className="muted">{m.source}.</span>
                    <b>{m.name}</b>
                  </td>
                  {m.values.map((v, i) => (
                    <td key={i} className="mono">
                      {v === null ? "—" : v}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <div className="charts">
            {d.metrics.map((m) => (
              <BarChart key={`${m.source}.${m.name}`} metric={m} runs={d.runs} />
            ))}
          </div>
        </>
      ) : (
        <p className="muted">No numeric metadata.</p>
      )}
      <h3>Outputs' metadata</h3>
      <table className="list cmp" data-testid="cmp-outputs">
        {head}
        <tbody>
          {d.outputs.map((o) => (
            <tr key={`${o.step}.${o.output}`}>
              <td>
                <span className="muted">{o.step}.</span>
                <b>{o.output}</b>
              </td>
              {o.runs.map((c, i) => (
                <td key={i} className="mono small">
                  {c.artifactVersion ? (
                    <>
                      {Object.entries(c.metadata).map(([k, v]) => (
                        <div key={k}>
                          {k}: {show(v)}
                        </div>
                      ))}
                    </>
                  ) : (
                    "—"
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
