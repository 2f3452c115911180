// A pipeline's snapshots (label-selected, one server page at a time), newest first.
import { useEffect, useState } from "react";
import { getJson, withNs } from "../../api";
import { ago } from "../../format";
import { Problem } from "../Problem";
import type { SnapshotRow } from "./types";

export function Snapshots({ pipeline }: { pipeline: string | null }) {
  const [rows, setRows] = useState<SnapshotRow[]>([]);
  const [cont, setCont] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(false);
  const load = (token: string | null) =>
    getJson<{ items: SnapshotRow[]; continue?: string }>("/api/snapshots", { pipeline, continue: token })
      .then((r) => {
        setRows((old) => (token ? [...old, ...r.items] : r.items));
        setCont(r.continue || null);
        setLoaded(true);
      })
      .catch(setError);
  useEffect(() => {
    load(null);
  }, [pipeline]);
  if (error) return <Problem error={error} />;
  return (
    <section>
      <h1>
        Snapshots{pipeline && <span className="muted"> of pipeline {pipeline}</span>}
      </h1>
      {pipeline && (
        <p>
          <a href={withNs("/snapshots")}>all snapshots</a> · <a href={withNs("/runs", { pipeline })}>runs of {pipeline}</a>
        </p>
      )}
      <table className="list" data-testid="snapshots">
        <thead>
          <tr>
            <th>snapshot</th>
            <th>pipeline</th>
            <th>steps</th>
            <th>runs</th>
            <th>created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.objectName} data-snapshot={r.objectName}>
              <td>
                <a href={withNs(`/snapshots/${encodeURIComponent(r.objectName)}`)}>{r.name}</a>
                {r.displayName && <div className="muted mono">{r.objectName}</div>}
                {r.description && <div className="muted">{r.description}</div>}
              </td>
              <td>
                <a href={withNs("/snapshots", { pipeline: r.pipeline })}>{r.pipelineName}</a>
              </td>
              <td>{r.steps}</td>
              <td>{r.runCount}</td>
              <td>{ago(r.created)}</td>
              <td>
                {r.runnable ? (
                  <a className="button" href={withNs(`/snapshots/${encodeURIComponent(r.objectName)}/run`)}>
                    Run
                  </a>
                ) : (
                  <span className="error" title={r.validationMessage || ""}>
                    not runnable
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {loaded && !rows.length && (
        <p className="muted">No snapshots{pipeline ? ` of ${pipeline}` : ""} yet: every run makes one, or `kubeline pipeline snapshot create`.</p>
      )}
      {cont && <button onClick={() => load(cont)}>more</button>}
    </section>
  );
}
