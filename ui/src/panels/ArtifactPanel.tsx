// The artifact panel: identity, storage, metadata, producer, consumers, visualizations.
import { useEffect, useState } from "react";
import { getJson, withNs } from "../api";
import { Problem } from "../pages/Problem";
import { Json } from "./StepPanel";
import { Visualization } from "./Visualization";

interface Detail {
  objectName: string;
  name: string;
  version: string;
  uid: string;
  dataType: string;
  materializer: string;
  uri: string;
  contentHash?: string;
  metadata: Record<string, unknown>;
  visualizations: { index: number; type: string }[];
  producer?: { pipeline?: string; run: string; step: string; output: string } | null;
  consumers: { run: string; step: string; input: string }[];
  created?: string;
}

export function ArtifactPanel({ av, step, output }: { av: string | null; step: string; output: string }) {
  const [d, setD] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setD(null);
    setError(null);
    if (av) getJson<Detail>(`/api/artifacts/${encodeURIComponent(av)}`).then(setD).catch(setError);
  }, [av]);
  if (!av) return <p className="muted">Output {output} of step {step} is not saved yet.</p>;
  if (error) return <Problem error={error} />;
  if (!d) return <div className="loading">loading {av}…</div>;
  return (
    <div className="artifact-panel" data-testid="artifact-panel">
      <h2>
        {d.name} <span className="muted">v{d.version}</span>
      </h2>
      <dl>
        <dt>type</dt>
        <dd className="mono">{d.dataType}</dd>
        <dt>materializer</dt>
        <dd className="mono">{d.materializer}</dd>
        <dt>URI</dt>
        <dd className="mono">{d.uri}</dd>
        {d.contentHash && (
          <>
            <dt>content</dt>
            <dd className="mono">sha256 {d.contentHash.slice(0, 16)}…</dd>
          </>
        )}
        <dt>producer</dt>
        <dd>
          {d.producer ? (
            <>
              step <b>{d.producer.step}</b> of run <a href={withNs(`/runs/${d.producer.run}`)}>{d.producer.run}</a>
            </>
          ) : (
            "—"
          )}
        </dd>
        <dt>consumers</dt>
        <dd>
          {d.consumers.length
            ? d.consumers.map((c) => (
                <div key={`${c.run}/${c.step}/${c.input}`}>
                  {c.step} ({c.input})
                </div>
              ))
            : "—"}
        </dd>
      </dl>
      <h3>Metadata</h3>
      <Json value={d.metadata} />
      {d.visualizations.length > 0 && <h3>Visualizations</h3>}
      {d.visualizations.map((v) => (
        <Visualization key={v.index} av={d.objectName} index={v.index} type={v.type} />
      ))}
    </div>
  );
}
