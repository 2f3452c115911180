import { useEffect, useState } from "react";
import { getJson, withNs } from "../api";
import { ago } from "../format";
import { Problem } from "./Problem";
import { StatusChip } from "./StatusChip";

interface Row {
  name: string;
  objectName: string;
  description?: string;
  runCount: number;
  lastRun?: string;
  lastRunStatus?: string;
  lastRunTime?: string;
  latestSnapshot?: string;
}

export function Pipelines() {
  const [rows, setRows] = useState<Row[]>([]);
  const [cont, setCont] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = (token: string | null) =>
    getJson<{ items: Row[]; continue?: string }>("/api/pipelines", { continue: token })
      .then((r) => {
        setRows((old) => (token ? [...old, ...r.items] : r.items));
        setCont(r.continue || null);
      })
      .catch(setError);
  useEffect(() => {
    load(null);
  }, []);
  if (error) return <Problem error={error} />;
  return (
    <section>
      <h1>Pipelines</h1>
      <table className="list" data-testid="pipelines">
        <thead>
          <tr>
            <th>pipeline</th>
            <th>runs</th>
            <th>last run</th>
            <th>status</th>
            <th>snapshots</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.objectName}>
              <td>
                <a href={withNs("/runs", { pipeline: r.objectName })}>{r.name}</a>
                {r.description && <div className="muted">{r.description}</div>}
              </td>
              <td>{r.runCount}</td>
              <td>
                {r.lastRun ? <a href={withNs(`/runs/${r.lastRun}`)}>{r.lastRun}</a> : "—"} <span className="muted">{ago(r.lastRunTime)}</span>
              </td>
              <td>{r.lastRunStatus ? <StatusChip status={r.lastRunStatus} /> : "—"}</td>
              <td className="mono">
                {r.latestSnapshot ? <a href={withNs(`/snapshots/${encodeURIComponent(r.latestSnapshot)}`)}>{r.latestSnapshot}</a> : "—"}{" "}
                <a href={withNs("/snapshots", { pipeline: r.objectName })} data-testid={`snapshots-of-${r.objectName}`}>
                  all snapshots
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!rows.length && <p className="muted">No pipelines in this namespace yet: run one.</p>}
      {cont && <button onClick={() => load(cont)}>more</button>}
    </section>
  );
}
