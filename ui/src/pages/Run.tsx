// A run: header, DAG (live), legend, search, timeline, and step/artifact panels.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { getJson, postJson, subscribe, withNs, type RunPage, type RunSummary, type StepState } from "../api";
import { LEGEND, statusColor } from "../colors";
import { Dag, type Selection } from "../graph/Dag";
import { ArtifactPanel } from "../panels/ArtifactPanel";
import { StepPanel } from "../panels/StepPanel";
import { Timeline } from "../panels/Timeline";
import { Problem } from "./Problem";
import { StatusChip } from "./StatusChip";
import type { UiConfig } from "../config";
import { CreateSnapshot } from "./snapshots/CreateSnapshot";

export function Legend() {
  return (
    <div className="legend" data-testid="legend">
      {LEGEND.map(([phase, label]) => (
        <span key={phase} className="item" data-phase={phase}>
          <span className="swatch" style={{ background: statusColor(phase) }} />
          {label}
        </span>
      ))}
      <span className="item">
        <span className="swatch artifact-swatch" /> artifact
      </span>
    </div>
  );
}

export function Run({ name, config }: { name: string; config: UiConfig }) {
  const [page, setPage] = useState<RunPage | null>(null);
  const [run, setRun] = useState<RunSummary | null>(null);
  const [states, setStates] = useState<Map<string, StepState>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [selection, setSelection] = useState<Selection>(null);
  const [tab, setTab] = useState<"dag" | "timeline">("dag");
  const [query, setQuery] = useState("");
  const [focus, setFocus] = useState<{ id: string; n: number } | null>(null);
  const [live, setLive] = useState(false);
  const [streamError, setStreamError] = useState("");
  const focusN = useRef(0);

  useEffect(() => {
    let close = () => {};
    getJson<RunPage>(`/api/runs/${encodeURIComponent(name)}`)
      .then((p) => {
        performance.mark("kubeline:run-fetched");
        setPage(p);
        setRun(p.run);
        setStates(new Map(p.steps.map((s) => [s.id, s])));
        close = subscribe(`/api/runs/${encodeURIComponent(name)}/events`, { rv: p.run.resourceVersion }, {
          update: (u: { run: RunSummary; steps: StepState[] }) => {
            setRun(u.run);
            if (u.steps.length)
              setStates((old) => {
                const m = new Map(old);
                for (const s of u.steps) m.set(s.id, s);
                return m;
              });
          },
          deleted: () => setStreamError(`run ${name} was deleted`),
          error: (e: any) => {
            setLive(false);
            setStreamError(`live updates stopped: ${e.message}`);
          },
        });
        setLive(true);
      })
      .catch(setError);
    return () => close();
  }, [name]);

  const triggeredStatus = useMemo(() => new Map((page?.triggeredRuns || []).map((t) => [t.name, t.status])), [page]);
  const matches = useMemo(() => {
    if (!page || !query) return [];
    const q = query.toLowerCase();
    return page.steps.filter((s) => s.id.toLowerCase().includes(q)).slice(0, 20);
  }, [page, query]);
  const select = useCallback((s: Selection) => setSelection(s), []);

  if (error) return <Problem error={error} />;
  if (!page || !run) return <div className="loading">loading run {name}…</div>;
  const counts: Record<string, number> = {};
  for (const s of states.values()) counts[s.phase] = (counts[s.phase] || 0) + 1;
  const stepName = selection?.kind === "step" ? selection.id : null;
  return (
    <section className="run">
      <div className="run-head">
        <h1>
          {run.name} <StatusChip status={run.status} />
        </h1>
        <div className="facts">
          <span>
            pipeline <a href={withNs("/runs", { pipeline: run.pipeline })}>{run.pipeline}</a>
          </span>
          {run.index && <span>run #{run.index}</span>}
          <span>progress {run.progress || "—"}</span>
          {run.duration && <span>took {run.duration}</span>}
          <span className="mono">
            snapshot {run.snapshot ? <a href={withNs(`/snapshots/${encodeURIComponent(run.snapshot)}`)}>{run.snapshot}</a> : "—"}
          </span>
          {run.triggeredBy && (
            <span data-testid="triggered-by">
              started by step <b>{run.triggeredBy.step}</b> of run{" "}
              <a href={withNs(`/runs/${run.triggeredBy.run}`)}>{run.triggeredBy.run}</a>
              {run.triggeredBy.verified === false && (
                <b data-testid="trigger-unverified" title={run.triggeredBy.provenance ?? ""}>
                  {" "}(unverified)
                </b>
              )}
            </span>
          )}
          {!config.readOnly && run.snapshot && !page.snapshotMissing && <CreateSnapshot run={name} />}
          <span className={live ? "live on" : "live"}>{live ? "● live" : "○"}</span>
          {!config.readOnly && (run.status === "running" || run.status === "initialized") && !run.cancelRequested && (
            <button className="danger" onClick={() => postJson(`/api/runs/${encodeURIComponent(name)}/cancel`, {}).catch(setError)}>
              cancel run
            </button>
          )}
        </div>
        {streamError && (
          <div className="stream-error" data-testid="stream-error">
            {streamError} (<a href={window.location.pathname + window.location.search}>reload</a>)
          </div>
        )}
        {run.message && (run.status === "failed" || run.status === "cancelled") && <div className="run-message">{run.message}</div>}
        <div className="counts">
          {Object.entries(counts).map(([p, c]) => (
            <span key={p} style={{ color: statusColor(p) }}>
              {c} {p}
            </span>
          ))}
        </div>
      </div>
      <div className="toolbar">
        <button className={tab === "dag" ? "on" : ""} onClick={() => setTab("dag")}>
          DAG
        </button>
        <button className={tab === "timeline" ? "on" : ""} onClick={() => setTab("timeline")} data-testid="timeline-tab">
          Timeline
        </button>
        <div className="search">
          <input placeholder="find a step by name" value={query} onChange={(e) => setQuery(e.target.value)} data-testid="search" />
          {matches.length > 0 && (
            <ul className="matches">
              {matches.map((s) => (
                <li key={s.id}>
                  <button
                    onClick={() => {
                      setTab("dag");
                      setSelection({ kind: "step", id: s.id });
                      setFocus({ id: s.id, n: ++focusN.current });
                      setQuery("");
                    }}
                  >
                    {s.id}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <Legend />
      </div>
      <div className="run-body">
        <div className="canvas">
          {tab === "dag" ? (
            <Dag page={page} states={states} selection={selection} onSelect={select} focus={focus} triggeredStatus={triggeredStatus} compact={selection !== null} />
          ) : (
            <Timeline steps={page.steps.map((s) => states.get(s.id) || s)} onSelect={(id) => setSelection({ kind: "step", id })} />
          )}
        </div>
        {selection && (
          <aside className="panel">
            <button className="close" onClick={() => setSelection(null)}>
              ×
            </button>
            {selection.kind === "step" && stepName && (
              <StepPanel run={name} step={stepName} state={states.get(stepName)} triggered={page.triggeredRuns.filter((t) => t.step === stepName)} />
            )}
            {selection.kind === "artifact" && (
              <ArtifactPanel av={states.get(selection.step)?.outputs?.[selection.output] || null} step={selection.step} output={selection.output} />
            )}
          </aside>
        )}
      </div>
    </section>
  );
}
