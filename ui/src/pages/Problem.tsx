// Errors as pages: a 403 names the verb and resource the API server refused.
import { ApiError } from "../api";

export function Problem({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.status === 403 && error.body.error === "forbidden") {
    const b = error.body;
    return (
      <div className="problem forbidden" data-testid="forbidden">
        <h1>403 Forbidden</h1>
        <p>
          The Kubernetes API server refused to <b data-testid="verb">{b.verb || "access"}</b>{" "}
          <b data-testid="resource">{b.resource || "this resource"}</b>
          {b.group ? ` (API group ${b.group})` : ""}
          {b.namespace ? ` in namespace ${b.namespace}` : ""}
          {b.user ? ` for ${b.user}` : ""}.
        </p>
        <p>The UI shows only what your own credentials may read. Ask for a Role that allows it, for example:</p>
        <pre>{`kubectl create role kubeline-viewer --verb=get,list,watch \\
  --resource=pipelines.kubeline.dev,pipelineruns.kubeline.dev,snapshots.kubeline.dev,artifactversions.kubeline.dev`}</pre>
        <details>
          <summary>API server message</summary>
          <pre>{b.message}</pre>
        </details>
      </div>
    );
  }
  if (error instanceof ApiError && error.status === 401) {
    return (
      <div className="problem">
        <h1>Sign-in needed</h1>
        <p>{error.body.message}</p>
        <a href="/">Sign in</a>
      </div>
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="problem">
      <h1>{error instanceof ApiError ? `Error ${error.status}` : "Error"}</h1>
      <pre>{message}</pre>
    </div>
  );
}
