// The snapshot views' JSON (sdk/kubeline/ui/snapshot_routes.py, run_form.py).
import type { ArtifactSlot, RunSummary, StepNode } from "../../api";

export interface SnapshotRow {
  objectName: string;
  name: string;
  displayName?: string | null;
  description?: string | null;
  pipeline: string;
  pipelineName: string;
  created?: string;
  steps: number;
  runCount: number;
  runnable: boolean;
  validationMessage?: string | null;
  tags: string[];
  image?: string;
}

export interface Field {
  name: string;
  jsonType: string | null;
  annotation?: string | null;
  widget: "number" | "checkbox" | "text" | "json";
  required: boolean;
  hasDefault: boolean;
  default: unknown;
  value: unknown;
}

export interface FormStep {
  id: string;
  name: string;
  function?: string;
  parameters: Field[];
}

export interface Access {
  allowed: boolean;
  reason?: string | null;
  verb: string;
  resource: string;
}

export interface RunConfig {
  enable_cache?: boolean;
  run_name?: string;
  tags?: string[];
  steps?: Record<string, { parameters?: Record<string, unknown>; enable_cache?: boolean }>;
}

export interface SnapshotPage {
  snapshot: SnapshotRow;
  steps: StepNode[];
  artifacts: ArtifactSlot[];
  triggeredRuns: { name: string; status: string; step: string }[];
  form: FormStep[];
  template: RunConfig;
  yaml: string;
  runs: RunSummary[];
  moreRuns: boolean;
  canRun: Access;
}

export interface Problem {
  message: string;
  step: string | null;
  parameter: string | null;
}

export interface Checked {
  problems: Problem[];
  config: RunConfig | null;
  yaml: string | null;
}
