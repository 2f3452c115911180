// The step panel: state, times, Pod, parameters, settings, the cache verdict, error, logs.
import { useEffect, useState } from "react";
import { getJson, withNs, type StepState } from "../api";
import { dur } from "../format";
import { Problem } from "../pages/Problem";
import { StatusChip } from "../pages/StatusChip";
import { Logs } from "./Logs";

interface Detail {
  id: string;
  name: string;
  status: string;
  attempts: number;
  pod?: { name: string; exists: boolean; phase?: string; node?: string; exitCode?: number } | null;
  startTime?: string;
  endTime?: string;
  duration?: number | null;
  message?: string;
  reason?: string;
  nextRetryTime?: string;
  cachedFrom?: { run: string; step: string } | null;
  parameters: Record<string, unknown>;
  settings: Record<string, unknown>;
  enableCache: boolean;
  function?: string;
  entrypoint?: string;
  docstring?: string;
  outputs: Record<string, string>;
  inputs: Record<string, string | null>;
  cache?: {
    cached: boolean;
    key?: string;
    parts: Record<string, string>;
    summary: string;
    changes: { part: string; detail: string }[];
    comparedWith?: { run: string; step: string } | null;
  } | null;
  traceback?: string | null;
}

export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function StepPanel({ run, step, state, triggered }: { run: string; step: string; state?: StepState; triggered: { name: string; status: string }[] }) {
  const [d, setD] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState<number | undefined>();
  const phase = state?.phase;
  useEffect(() => {
    setError(null);
    getJson<Detail>(`/api/runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}`).then(setD).catch(setError);
  }, [run, step, phase, state?.attempts]);
  if (error) return <Problem error={error} />;
  if (!d) return <div className="loading">loading {step}…</div>;
  return (
    <div className="step-panel" data-testid="step-panel">
      <h2>
        {d.id} <StatusChip status={phase || d.status} />
      </h2>
      {d.docstring && <p className="muted">{d.docstring}</p>}
      <dl>
        <dt>function</dt>
        <dd className="mono">{d.entrypoint || d.function}</dd>
        <dt>started</dt>
        <dd>{d.startTime || "—"}</dd>
        <dt>ended</dt>
        <dd>{d.endTime || "—"}</dd>
        <dt>duration</dt>
        <dd>{dur(d.duration)}</dd>
        <dt>attempts</dt>
        <dd>{d.attempts}{d.nextRetryTime ? ` (next at ${d.nextRetryTime})` : ""}</dd>
        <dt>Pod</dt>
        <dd className="mono">
          {d.pod ? `${d.pod.name}${d.pod.exists ? ` (${d.pod.phase}${d.pod.exitCode !== undefined ? `, exit ${d.pod.exitCode}` : ""})` : " (deleted)"}` : "—"}
        </dd>
        {d.reason && (
          <>
            <dt>reason</dt>
            <dd>{d.reason}</dd>
          </>
        )}
      </dl>
      {d.cachedFrom && (
        <p data-testid="cached-from">
          Cached from step <b>{d.cachedFrom.step}</b> of run{" "}
          <a href={withNs(`/runs/${d.cachedFrom.run}`)}>{d.cachedFrom.run}</a>
        </p>
      )}
      {triggered.length > 0 && (
        <p>
          Started run{triggered.length > 1 ? "s" : ""}{" "}
          {triggered.map((t) => (
            <a key={t.name} href={withNs(`/runs/${t.name}`)}>
              {t.name}{" "}
            </a>
          ))}
        </p>
      )}
      {(d.status === "failed" || d.message) && (
        <div className={d.status === "failed" ? "error-box" : "note-box"} data-testid="step-error">
          {d.message && <p>{d.message}</p>}
          {d.traceback && <pre>{d.traceback}</pre>}
        </div>
      )}
      <h3>
        Logs
        {d.attempts > 1 && (
          <select value={attempt || d.attempts} onChange={(e) => setAttempt(Number(e.target.value))}>
            {Array.from({ length: d.attempts }, (_, i) => i + 1).map((a) => (
              <option key={a} value={a}>
                attempt {a}
              </option>
            ))}
          </select>
        )}
      </h3>
      <Logs run={run} step={step} attempt={attempt} phase={phase} />
      <h3>Cache</h3>
      {d.cache ? (
        <div className="cache" data-testid="cache">
          <p className="verdict">{d.cache.summary}</p>
          {d.cache.changes.length > 0 && (
            <ul data-testid="cache-changes">
              {d.cache.changes.map((c, i) => (
                <li key={i}>
                  <b>{c.part}</b>: {c.detail}
                </li>
              ))}
            </ul>
          )}
          {d.cache.comparedWith && !d.cache.cached && (
            <p className="muted">
              compared with run <a href={withNs(`/runs/${d.cache.comparedWith.run}`)}>{d.cache.comparedWith.run}</a>
            </p>
          )}
          <details>
            <summary>cache key parts</summary>
            <table className="kv">
              <tbody>
                <tr>
                  <td>key</td>
                  <td className="mono">{d.cache.key}</td>
                </tr>
                {Object.entries(d.cache.parts).map(([k, v]) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td className="mono">{v.slice(0, 16)}…</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </div>
      ) : (
        <p className="muted">no cache record</p>
      )}
      <h3>Parameters</h3>
      <Json value={d.parameters} />
      <h3>Settings</h3>
      <Json value={{ ...d.settings, enable_cache: d.enableCache }} />
      <h3>Inputs and outputs</h3>
      <table className="kv">
        <tbody>
          {Object.entries(d.inputs).map(([k, v]) => (
            <tr key={`i-${k}`}>
              <td>in {k}</td>
              <td className="mono">{v || "—"}</td>
            </tr>
          ))}
          {Object.entries(d.outputs).map(([k, v]) => (
            <tr key={`o-${k}`}>
              <td>out {k}</td>
              <td className="mono">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
