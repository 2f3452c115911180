// A pipeline's snapshots (label-selected, one server page at a time), newest first.
import { withNs } from "../../api";
import { ago } from "../../format";
import { ListTable, usePagedList } from "../ListPage";
import { Problem } from "../Problem";
import type { SnapshotRow } from "./types";

export function Snapshots({ pipeline }: { pipeline: string | null }) {
  const { rows, loaded, error, more } = usePagedList<SnapshotRow>("/api/snapshots", { pipeline });
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
      <ListTable
        testid="snapshots"
        columns={["snapshot", "pipeline", "steps", "runs", "created", ""]}
        count={rows.length}
        empty={
          loaded && (
            <p className="muted">No snapshots{pipeline ? ` of ${pipeline}` : ""} yet: every run makes one, or `kubeline pipeline snapshot create`.</p>
          )
        }
        more={more}
      >
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
      </ListTable>
    </section>
  );
}
