// "New snapshot" on a run page (seed 004's dashboard steps): a name, then Create; the new
// snapshot runs the same DAG and code with this run's configuration as its template.
import { useState } from "react";
import { ApiError, getJson, postJson, withNs } from "../../api";
import { navigate } from "../../router";
import type { Access } from "./types";

export function CreateSnapshot({ run }: { run: string }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [access, setAccess] = useState<Access | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const show = () => {
    setOpen(true);
    getJson<Access>("/api/can-i", { verb: "create", resource: "snapshots" })
      .then(setAccess)
      .catch((e) => setError(e.message));
  };
  const create = () => {
    setBusy(true);
    setError("");
    postJson<{ snapshot: string }>(`/api/runs/${encodeURIComponent(run)}/snapshot`, { name, description })
      .then((r) => navigate(withNs(`/snapshots/${encodeURIComponent(r.snapshot)}`)))
      .catch((e) => {
        setBusy(false);
        setError(e instanceof ApiError ? e.body.message || e.message : String(e));
      });
  };
  if (!open)
    return (
      <button data-testid="new-snapshot" onClick={show}>
        + New snapshot
      </button>
    );
  return (
    <div className="dialog" data-testid="new-snapshot-dialog">
      <h2>New snapshot from {run}</h2>
      <p className="muted">Same steps and code; this run's configuration becomes its template.</p>
      {access && !access.allowed && (
        <div className="error" data-testid="snapshot-refused">
          refused: {access.reason}
        </div>
      )}
      <label>
        name <input data-testid="snapshot-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
      </label>
      <label>
        description <input data-testid="snapshot-description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      {error && <div className="error">{error}</div>}
      <div>
        <button className="primary" data-testid="create-snapshot" disabled={busy || !name.trim() || (access !== null && !access.allowed)} onClick={create}>
          Create
        </button>{" "}
        <button onClick={() => setOpen(false)}>cancel</button>
      </div>
    </div>
  );
}
