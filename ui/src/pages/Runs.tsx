// The runs list: one server-side page at a time (the API's continue tokens), live via SSE.
import { useEffect, useRef, useState } from "react";
import { getJson, subscribe, withNs, type RunSummary } from "../api";
import { ago } from "../format";
import { ListTable } from "./ListPage";
import { Problem } from "./Problem";
import { StatusChip } from "./StatusChip";
import { navigate } from "../router";

const PHASES = ["", "initialized", "running", "completed", "failed", "cached", "cancelled"];

interface Page {
  items: RunSummary[];
  continue?: string;
  remaining?: number;
  resourceVersion?: string;
}

export function Runs() {
  const params = new URLSearchParams(window.location.search);
  const pipeline = params.get("pipeline") || "";
  const status = params.get("status") || "";
  const [rows, setRows] = useState<RunSummary[]>([]);
  const [fresh, setFresh] = useState<RunSummary[]>([]);
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const [pageNo, setPageNo] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [remaining, setRemaining] = useState<number | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [streamError, setStreamError] = useState("");
  const shown = useRef(new Set<string>());

  useEffect(() => {
    let close = () => {};
    getJson<Page>("/api/runs", { pipeline, status, continue: tokens[pageNo], limit: "50" })
      .then((p) => {
        setRows(p.items);
        shown.current = new Set(p.items.map((r) => r.name));
        setNext(p.continue || null);
        setRemaining(p.remaining);
        close = subscribe("/api/runs-events", { pipeline, status, rv: p.resourceVersion }, {
          run: ({ type, run }: { type: string; run: RunSummary }) => {
            if (type === "DELETED") {
              setRows((old) => old.filter((r) => r.name !== run.name));
              return;
            }
            if (shown.current.has(run.name)) setRows((old) => old.map((r) => (r.name === run.name ? run : r)));
            else if (type === "ADDED" || type === "MODIFIED")
              setFresh((old) => [run, ...old.filter((r) => r.name !== run.name)].slice(0, 50));
          },
          error: (e: any) => setStreamError(`live updates stopped: ${e.message}`),
        });
      })
      .catch(setError);
    return () => close();
  }, [pipeline, status, pageNo, tokens]);

  if (error) return <Problem error={error} />;
  const setFilter = (key: string, value: string) => {
    const q = new URLSearchParams(window.location.search);
    if (value) q.set(key, value);
    else q.delete(key);
    navigate(`/runs?${q.toString()}`);
  };
  const row = (r: RunSummary) => (
    <tr key={r.name} data-testid={`run-${r.name}`}>
      <td>
        <a href={withNs(`/runs/${r.name}`)}>{r.name}</a>
      </td>
      <td>{r.pipeline}</td>
      <td>
        <StatusChip status={r.status} />
      </td>
      <td>{r.progress || ""}</td>
      <td>{r.duration || ""}</td>
      <td className="muted">{ago(r.created)}</td>
    </tr>
  );
  return (
    <section>
      <h1>Runs{pipeline ? ` of ${pipeline}` : ""}</h1>
      <div className="filters">
        <label>
          pipeline <input defaultValue={pipeline} onKeyDown={(e) => e.key === "Enter" && setFilter("pipeline", (e.target as HTMLInputElement).value)} placeholder="pipeline object name" />
        </label>
        <label>
          status{" "}
          <select value={status} onChange={(e) => setFilter("status", e.target.value)} data-testid="status-filter">
            {PHASES.map((p) => (
              <option key={p} value={p}>
                {p || "any"}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">in the API's order (by name: for one pipeline, oldest first); new runs appear above, live</span>
      </div>
      {streamError && <div className="stream-error">{streamError}</div>}
      {fresh.length > 0 && (
        <table className="list fresh">
          <caption>new since this page opened</caption>
          <tbody>{fresh.map(row)}</tbody>
        </table>
      )}
      <ListTable testid="runs" columns={["run", "pipeline", "status", "progress", "duration", "created"]} count={rows.length} empty={null}>
        {rows.map(row)}
      </ListTable>
      <div className="pager">
        <button disabled={pageNo === 0} onClick={() => setPageNo(pageNo - 1)}>
          previous
        </button>
        <span>
          page {pageNo + 1}
          {remaining !== undefined && remaining !== null ? ` · ${remaining} more runs` : ""}
        </span>
        <button
          disabled={!next}
          onClick={() => {
            setTokens((t) => [...t.slice(0, pageNo + 1), next]);
            setPageNo(pageNo + 1);
          }}
        >
          next
        </button>
      </div>
    </section>
  );
}
