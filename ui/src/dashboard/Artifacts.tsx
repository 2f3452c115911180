// The artifacts browser: artifacts by name, an artifact's versions, and one version's
// metadata, visualizations, producer and lineage.
import { useEffect, useState } from "react";
import { getJson, withNs } from "../api";
import { ago } from "../format";
import { ListTable, usePagedList } from "../pages/ListPage";
import { Problem } from "../pages/Problem";
import { ArtifactPanel } from "../panels/ArtifactPanel";
import "./dashboard.css";

interface NameRow {
  name: string;
  versions: number;
  latest?: string;
  latestCreated?: string;
  type?: string;
}

interface VersionRow {
  objectName: string;
  name: string;
  version: string;
  dataType: string;
  tags: string[];
  metadata: Record<string, unknown>;
  visualizations: { index: number; type: string }[];
  producer?: { pipeline?: string; run: string; step: string; output: string } | null;
  created?: string;
}

/** A further page of artifact names: a name already listed adds its versions (a name's
 *  versions may span pages), the newest of them is its latest. */
function mergeNames(old: NameRow[], page: NameRow[]): NameRow[] {
  const merged = new Map(old.map((x) => [x.name, { ...x }]));
  for (const x of page) {
    const had = merged.get(x.name);
    if (!had) merged.set(x.name, x);
    else {
      had.versions += x.versions;
      if ((x.latestCreated || "") >= (had.latestCreated || "")) Object.assign(had, { latest: x.latest, latestCreated: x.latestCreated });
    }
  }
  return [...merged.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function Artifacts() {
  const { rows, loaded, error, more } = usePagedList<NameRow>("/api/artifact-names", {}, mergeNames);
  if (error) return <Problem error={error} />;
  if (!loaded) return <div className="loading">loading artifacts…</div>;
  return (
    <section>
      <h1>Artifacts</h1>
      <ListTable
        testid="artifacts"
        columns={["artifact", "versions", "latest", "type"]}
        count={rows.length}
        empty={<p className="muted">No artifacts in this namespace yet.</p>}
        more={more}
      >
        {rows.map((r) => (
          <tr key={r.name} data-testid={`artifact-row-${r.name}`}>
            <td>
              <a href={withNs(`/artifacts/${encodeURIComponent(r.name)}`)}>{r.name}</a>
            </td>
            <td>{r.versions}</td>
            <td>
              {r.latest} <span className="muted">{ago(r.latestCreated)}</span>
            </td>
            <td className="muted">{r.type || ""}</td>
          </tr>
        ))}
      </ListTable>
    </section>
  );
}

export function Artifact({ name, query }: { name: string; query: URLSearchParams }) {
  const [versions, setVersions] = useState<VersionRow[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const selected = query.get("version");
  useEffect(() => {
    getJson<{ versions: VersionRow[] }>(`/api/artifact-names/${encodeURIComponent(name)}`)
      .then((r) => setVersions(r.versions))
      .catch(setError);
  }, [name]);
  if (error) return <Problem error={error} />;
  if (!versions) return <div className="loading">loading {name}…</div>;
  const current = selected || versions[versions.length - 1]?.objectName || null; // newest by default
  return (
    <section className="artifact-page" data-testid="artifact-page">
      <h1>
        {name} <span className="muted">{versions.length} versions</span>
      </h1>
      <div className="split">
        <table className="list" data-testid="artifact-versions">
          <thead>
            <tr>
              <th>version</th>
              <th>created</th>
              <th>producer</th>
              <th>metadata</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.objectName} className={v.objectName === current ? "selected" : undefined} data-testid={`av-${v.version}`}>
                <td>
                  <a href={withNs(`/artifacts/${encodeURIComponent(name)}`, { version: v.objectName })}>v{v.version}</a>
                  {v.visualizations.length ? <span className="muted"> · {v.visualizations.length} vis.</span> : null}
                </td>
                <td className="muted">{ago(v.created)}</td>
                <td>
                  {v.producer ? (
                    <a href={withNs(`/runs/${v.producer.run}`)} data-testid={`producer-${v.version}`}>
                      {v.producer.run} · {v.producer.step}
                    </a>
                  ) : (
                    "—"
                  )}
                </td>
                <td className="mono small">
                  {Object.entries(v.metadata)
                    .slice(0, 4)
                    .map(([k, x]) => (
                      <div key={k}>
                        {k}: {typeof x === "string" ? x : JSON.stringify(x)}
                      </div>
                    ))}
                </td>
                <td>
                  <a href={withNs("/lineage", { artifact: v.objectName })}>lineage</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {current && (
          <div className="panel">
            <ArtifactPanel av={current} step="" output="" />
            <p>
              <a href={withNs("/lineage", { artifact: current })} data-testid="open-lineage">
                lineage of this version →
              </a>
            </p>
          </div>
        )}
      </div>
    </section>
  );
}
