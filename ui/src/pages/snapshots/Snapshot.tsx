// A snapshot: its DAG, its configuration template and its runs, and the Run button.
import { useEffect, useState } from "react";
import { getJson, withNs, type StepState } from "../../api";
import { ago } from "../../format";
import { Dag, type Selection } from "../../graph/Dag";
import { Problem } from "../Problem";
import { StatusChip } from "../StatusChip";
import { RunButton } from "./RunButton";
import type { SnapshotPage } from "./types";

const NO_TRIGGERED = new Map<string, string>();

export function Snapshot({ name }: { name: string }) {
  const [page, setPage] = useState<SnapshotPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selection, setSelection] = useState<Selection>(null);
  const [states, setStates] = useState<Map<string, StepState>>(new Map());
  useEffect(() => {
    getJson<SnapshotPage>(`/api/snapshots/${encodeURIComponent(name)}`)
      .then((p) => {
        setPage(p);
        setStates(new Map(p.steps.map((s) => [s.id, s])));
      })
      .catch(setError);
  }, [name]);
  if (error) return <Problem error={error} />;
  if (!page) return <div className="loading">loading snapshot {name}…</div>;
  const s = page.snapshot;
  const selected = selection?.kind === "step" ? page.form.find((f) => f.id === selection.id) : null;
  return (
    <section className="snapshot" data-testid="snapshot">
      <div className="run-head">
        <h1>
          {s.name} <RunButton snapshot={s} access={page.canRun} />
        </h1>
        <div className="facts">
          <span>
            pipeline <a href={withNs("/snapshots", { pipeline: s.pipeline })}>{s.pipelineName}</a>
          </span>
          <span className="mono">{s.objectName}</span>
          <span>created {ago(s.created)}</span>
          <span>{s.steps} steps</span>
          <span>{s.runCount} runs</span>
          {s.image && <span className="mono">image {s.image}</span>}
        </div>
        {s.description && <p>{s.description}</p>}
      </div>
      <div className="snapshot-body">
        <div className="canvas snapshot-dag">
          <Dag page={page} states={states} selection={selection} onSelect={setSelection} focus={null} triggeredStatus={NO_TRIGGERED} compact />
        </div>
        <aside className="panel snapshot-side">
          {selected ? (
            <>
              <button className="close" onClick={() => setSelection(null)}>
                ×
              </button>
              <h2>{selected.id}</h2>
              <div className="muted mono">{selected.function}</div>
              <h3>parameters</h3>
              <table className="kv">
                <tbody>
                  {selected.parameters.map((f) => (
                    <tr key={f.name}>
                      <td className="mono">
                        {f.name}
                        {f.required && <span className="required">*</span>}
                      </td>
                      <td className="muted">{f.annotation || f.jsonType || "any"}</td>
                      <td className="mono">{f.hasDefault ? JSON.stringify(f.default) : "(required)"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : (
            <>
              <h2>Configuration template</h2>
              <pre className="json yaml" data-testid="config-template">
                {page.yaml}
              </pre>
            </>
          )}
        </aside>
      </div>
      <h2>Runs</h2>
      <table className="list" data-testid="snapshot-runs">
        <thead>
          <tr>
            <th>run</th>
            <th>status</th>
            <th>progress</th>
            <th>started</th>
            <th>took</th>
          </tr>
        </thead>
        <tbody>
          {page.runs.map((r) => (
            <tr key={r.name}>
              <td>
                <a href={withNs(`/runs/${encodeURIComponent(r.name)}`)}>{r.name}</a>
              </td>
              <td>
                <StatusChip status={r.status} />
              </td>
              <td>{r.progress || "—"}</td>
              <td>{ago(r.startTime || r.created)}</td>
              <td>{r.duration || ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!page.runs.length && <p className="muted">No runs of this snapshot yet.</p>}
      {page.moreRuns && <p className="muted">the {page.runs.length} first runs by name</p>}
    </section>
  );
}
