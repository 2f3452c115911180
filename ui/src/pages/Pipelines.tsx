import { withNs } from "../api";
import { ago } from "../format";
import { ListTable, usePagedList } from "./ListPage";
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
  const { rows, error, more } = usePagedList<Row>("/api/pipelines");
  if (error) return <Problem error={error} />;
  return (
    <section>
      <h1>Pipelines</h1>
      <ListTable
        testid="pipelines"
        columns={["pipeline", "runs", "last run", "status", "snapshots"]}
        count={rows.length}
        empty={<p className="muted">No pipelines in this namespace yet: run one.</p>}
        more={more}
      >
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
      </ListTable>
    </section>
  );
}
