// The Run button: a link to the run form, or refused with the API server's reason.
import { withNs } from "../../api";
import type { Access, SnapshotRow } from "./types";

export function RunButton({ snapshot, access }: { snapshot: SnapshotRow; access: Access }) {
  if (!snapshot.runnable)
    return (
      <span className="refused" data-testid="run-refused">
        <button disabled>Run</button> not runnable: {snapshot.validationMessage}
      </span>
    );
  if (!access.allowed)
    return (
      <span className="refused" data-testid="run-refused">
        <button disabled title={access.reason || "refused"}>
          Run
        </button>{" "}
        refused: <span data-testid="run-refused-reason">{access.reason}</span>
      </span>
    );
  return (
    <a className="button primary" data-testid="run-button" href={withNs(`/snapshots/${encodeURIComponent(snapshot.objectName)}/run`)}>
      Run
    </a>
  );
}
