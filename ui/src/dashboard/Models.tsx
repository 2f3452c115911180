// Models: the list with each model's production and staging versions, and a model's page
// with its versions, stage history and promote / archive buttons (the SDK's rule, applied
// by the server through Client.update_model_version with the caller's own token).
import { useEffect, useState } from "react";
import { ApiError, getJson, postJson, withNs } from "../api";
import { ago } from "../format";
import { ListTable, usePagedList } from "../pages/ListPage";
import { Problem } from "../pages/Problem";
import { Json } from "../panels/StepPanel";
import "./dashboard.css";

interface ModelRow {
  name: string;
  objectName: string;
  description?: string;
  tags: string[];
  latest?: string;
  production?: string;
  staging?: string;
  versions: number;
  created?: string;
}

interface StageChange {
  stage: string;
  previous?: string;
  time: string;
  user?: string;
  manager?: string;
  reason?: string;
  message?: string;
}

export interface VersionRow {
  name: string;
  objectName: string;
  number?: number;
  stage: string;
  requestedStage: string;
  created?: string;
  producerRun?: string;
  description?: string;
  tags: string[];
  artifacts: { name: string; artifactVersion: string; type: string; run?: string; step?: string }[];
  metadata: Record<string, unknown>;
  stageHistory: StageChange[];
}

interface ModelPage {
  model: ModelRow;
  versions: VersionRow[];
  promotion: { allowed: boolean; reason: string };
}

export function StageChip({ stage }: { stage: string }) {
  return (
    <span className={`chip stage stage-${stage}`} data-stage={stage}>
      {stage}
    </span>
  );
}

export function Models() {
  const { rows, loaded, error } = usePagedList<ModelRow>("/api/models"); // one page: no continue
  if (error) return <Problem error={error} />;
  if (!loaded) return <div className="loading">loading models…</div>;
  return (
    <section>
      <h1>Models</h1>
      <ListTable
        testid="models"
        columns={["model", "production", "staging", "latest", "versions", "created"]}
        count={rows.length}
        empty={<p className="muted">No models in this namespace yet: run a pipeline with model=Model(name=...).</p>}
      >
        {rows.map((m) => (
          <tr key={m.objectName} data-testid={`model-${m.name}`}>
            <td>
              <a href={withNs(`/models/${encodeURIComponent(m.name)}`)}>{m.name}</a>
              {m.description && <div className="muted">{m.description}</div>}
            </td>
            <td data-testid="production">{m.production || "—"}</td>
            <td data-testid="staging">{m.staging || "—"}</td>
            <td>{m.latest || "—"}</td>
            <td>{m.versions}</td>
            <td className="muted">{ago(m.created)}</td>
          </tr>
        ))}
      </ListTable>
    </section>
  );
}

function StageButtons({ model, v, access, onDone }: { model: string; v: VersionRow; access: ModelPage["promotion"]; onDone: () => void }) {
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  const apply = (stage: string) => {
    setBusy(true);
    setMessage("");
    postJson(`/api/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(v.name)}/stage`, { stage, force })
      .then(() => onDone())
      .catch((e) => setMessage(e instanceof ApiError ? e.message : String(e)))
      .finally(() => setBusy(false));
  };
  const title = access.allowed ? undefined : access.reason;
  const disabled = busy || !access.allowed;
  return (
    <div className="stage-actions" data-testid={`actions-${v.name}`}>
      {(["production", "staging"] as const).map((s) => (
        <button key={s} disabled={disabled || v.stage === s} title={title} onClick={() => apply(s)} data-testid={`promote-${s}-${v.name}`}>
          to {s}
        </button>
      ))}
      <button disabled={disabled || v.stage === "archived"} title={title} onClick={() => apply("archived")} data-testid={`archive-${v.name}`}>
        archive
      </button>
      <label title="archive the version that holds the stage (the SDK's force=True)">
        <input type="checkbox" checked={force} disabled={!access.allowed} onChange={(e) => setForce(e.target.checked)} data-testid={`force-${v.name}`} /> force
      </label>
      {message && (
        <div className="error" data-testid={`stage-error-${v.name}`}>
          {message}
        </div>
      )}
    </div>
  );
}

export function Model({ name }: { name: string }) {
  const [d, setD] = useState<ModelPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    getJson<ModelPage>(`/api/models/${encodeURIComponent(name)}`).then(setD).catch(setError);
  }, [name, tick]);
  if (error) return <Problem error={error} />;
  if (!d) return <div className="loading">loading {name}…</div>;
  const m = d.model;
  return (
    <section className="model-page" data-testid="model-page">
      <h1>
        {m.name} <span className="muted">model</span>
      </h1>
      <div className="facts">
        <span>
          production <b data-testid="model-production">{m.production || "—"}</b>
        </span>
        <span>
          staging <b data-testid="model-staging">{m.staging || "—"}</b>
        </span>
        <span>latest {m.latest || "—"}</span>
        <span>{m.versions} versions</span>
        {!d.promotion.allowed && (
          <span className="muted" data-testid="promotion-refused">
            promotion not allowed: {d.promotion.reason}
          </span>
        )}
      </div>
      {m.description && <p>{m.description}</p>}
      <table className="list versions" data-testid="versions">
        <thead>
          <tr>
            <th>#</th>
            <th>version</th>
            <th>stage</th>
            <th>created</th>
            <th>producer run</th>
            <th>artifacts</th>
            <th>metadata</th>
            <th>stage history</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {[...d.versions].reverse().map((v) => (
            <tr key={v.objectName} data-testid={`version-${v.name}`} data-stage={v.stage}>
              <td>{v.number ?? "—"}</td>
              <td>
                {v.name}
                <div>
                  <a href={withNs("/lineage", { model: m.name, version: v.name })} data-testid={`lineage-${v.name}`}>
                    lineage
                  </a>
                </div>
              </td>
              <td>
                <StageChip stage={v.stage} />
                {v.requestedStage !== v.stage && <div className="muted">asked: {v.requestedStage}</div>}
              </td>
              <td className="muted">{ago(v.created)}</td>
              <td>{v.producerRun ? <a href={withNs(`/runs/${v.producerRun}`)}>{v.producerRun}</a> : "—"}</td>
              <td>
                <ul className="plain">
                  {v.artifacts.map((a) => (
                    <li key={a.artifactVersion}>
                      <a href={withNs(`/artifacts/${encodeURIComponent(a.name)}`, { version: a.artifactVersion })}>{a.name}</a> <span className="muted">{a.type}</span>
                    </li>
                  ))}
                </ul>
              </td>
              <td>{Object.keys(v.metadata).length ? <Json value={v.metadata} /> : "—"}</td>
              <td>
                <ol className="history" data-testid={`history-${v.name}`}>
                  {v.stageHistory.map((h, i) => (
                    <li key={i} title={h.message || ""}>
                      {h.previous || "none"} → <b>{h.stage}</b> <span className="muted">{ago(h.time)}</span>
                      {h.reason === "ArchivedByPromotion" ? <span className="muted"> (displaced)</span> : null}
                      {h.user ? <span className="muted"> by {h.user}</span> : h.manager ? <span className="muted"> via {h.manager}</span> : null}
                    </li>
                  ))}
                </ol>
              </td>
              <td>
                <StageButtons model={m.name} v={v} access={d.promotion} onDone={() => setTick((t) => t + 1)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
