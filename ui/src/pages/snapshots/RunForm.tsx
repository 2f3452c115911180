// Run a snapshot: a form made from its typed parameters, beside a YAML editor of the whole run
// configuration (and a .yaml upload). Every change is checked by the UI server with the rule
// the operator applies (kubeline.resources.run_config), so the messages are the operator's.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, getJson, postJson, withNs } from "../../api";
import { navigate } from "../../router";
import { Problem as ProblemPage } from "../Problem";
import { RunButton } from "./RunButton";
import type { Checked, Field, FormStep, Problem, RunConfig, SnapshotPage } from "./types";

const CHECK_DELAY = 200; // ms after the last keystroke

type Raw = Record<string, string | boolean>; // "step.param" -> what the input holds

const key = (step: string, param: string) => `${step}.${param}`;

/** What an input shows for a value. */
function toRaw(field: Field, value: unknown): string | boolean {
  if (field.widget === "checkbox") return value === true;
  if (value === null || value === undefined) return "";
  if (field.widget === "json") return JSON.stringify(value);
  return String(value);
}

/** The value an input's text stands for; JSON that does not parse is sent as the text, so the
 * server's rule (not a second one here) says what is wrong with it. */
function fromRaw(field: Field, raw: string | boolean): { value: unknown; note?: string } {
  if (field.widget === "checkbox") return { value: raw === true };
  const text = String(raw);
  if (field.widget === "text") return { value: text };
  if (text.trim() === "") return { value: null };
  if (field.widget === "number") {
    const n = Number(text);
    return Number.isFinite(n) ? { value: n } : { value: text, note: "not a number" };
  }
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { value: text, note: "not valid JSON: sent as text" };
  }
}

function rawFrom(form: FormStep[], config: RunConfig): Raw {
  const out: Raw = {};
  for (const step of form)
    for (const f of step.parameters) out[key(step.id, f.name)] = toRaw(f, config.steps?.[step.id]?.parameters?.[f.name] ?? null);
  return out;
}

function withValue(config: RunConfig, step: string, param: string, value: unknown): RunConfig {
  const steps = { ...(config.steps || {}) };
  steps[step] = { ...(steps[step] || {}), parameters: { ...(steps[step]?.parameters || {}), [param]: value } };
  return { ...config, steps };
}

export function RunForm({ name }: { name: string }) {
  const [page, setPage] = useState<SnapshotPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [config, setConfig] = useState<RunConfig>({});
  const [raw, setRaw] = useState<Raw>({});
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [yaml, setYaml] = useState("");
  const [source, setSource] = useState<"form" | "yaml">("form");
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checking, setChecking] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const timer = useRef<number | undefined>();
  const seq = useRef(0);

  useEffect(() => {
    getJson<SnapshotPage>(`/api/snapshots/${encodeURIComponent(name)}`)
      .then((p) => {
        setPage(p);
        setConfig(p.template);
        setRaw(rawFrom(p.form, p.template));
        setYaml(p.yaml);
        performance.mark("kubeline:form-ready");
        return postJson<Checked>(`/api/snapshots/${encodeURIComponent(name)}/check`, { config: p.template });
      })
      .then((c) => setProblems(c.problems))
      .catch(setError);
  }, [name]);

  const check = useCallback(
    (body: { config?: RunConfig; yaml?: string }) => {
      window.clearTimeout(timer.current);
      const n = ++seq.current;
      setChecking(true);
      timer.current = window.setTimeout(() => {
        postJson<Checked>(`/api/snapshots/${encodeURIComponent(name)}/check`, body)
          .then((c) => {
            if (n !== seq.current) return; // a newer edit is being checked
            setProblems(c.problems);
            if (body.yaml !== undefined && c.config && page) {
              setConfig(c.config);
              setRaw(rawFrom(page.form, c.config));
              setNotes({});
            }
            if (body.config !== undefined && c.yaml !== null) setYaml(c.yaml);
            setChecking(false);
          })
          .catch((e) => {
            if (n !== seq.current) return;
            setChecking(false);
            setProblems([{ message: e instanceof Error ? e.message : String(e), step: null, parameter: null }]);
          });
      }, CHECK_DELAY);
    },
    [name, page],
  );

  const onField = (step: string, field: Field, value: string | boolean) => {
    const k = key(step, field.name);
    const parsed = fromRaw(field, value);
    setRaw((r) => ({ ...r, [k]: value }));
    setNotes((old) => {
      const next = { ...old };
      if (parsed.note) next[k] = parsed.note;
      else delete next[k];
      return next;
    });
    const next = withValue(config, step, field.name, parsed.value);
    setConfig(next);
    setSource("form");
    check({ config: next });
  };

  const onYaml = (text: string) => {
    setYaml(text);
    setSource("yaml");
    check({ yaml: text });
  };

  const onUpload = (file: File | undefined) => {
    if (!file) return;
    file.text().then(onYaml);
  };

  const submit = () => {
    setSubmitting(true);
    setRefusal(null);
    window.clearTimeout(timer.current);
    seq.current++;
    setChecking(false);
    postJson<{ run: string }>(`/api/snapshots/${encodeURIComponent(name)}/runs`, source === "yaml" ? { yaml } : { config })
      .then((r) => navigate(withNs(`/runs/${encodeURIComponent(r.run)}`)))
      .catch((e) => {
        setSubmitting(false);
        if (e instanceof ApiError && e.body.problems) setProblems(e.body.problems);
        else if (e instanceof ApiError && e.status === 403) setRefusal(e.body.message);
        else setProblems([{ message: e instanceof Error ? e.message : String(e), step: null, parameter: null }]);
      });
  };

  if (error) return <ProblemPage error={error} />;
  if (!page) return <div className="loading">loading snapshot {name}…</div>;
  const placed = new Map<string, string[]>();
  const general: string[] = [];
  for (const p of problems) {
    if (p.step && p.parameter) {
      const k = key(p.step, p.parameter);
      placed.set(k, [...(placed.get(k) || []), p.message]);
    } else general.push(p.message);
  }
  const s = page.snapshot;
  return (
    <section className="run-form" data-testid="run-form">
      <h1>
        Run <a href={withNs(`/snapshots/${encodeURIComponent(s.objectName)}`)}>{s.name}</a>{" "}
        <span className="muted">pipeline {s.pipelineName}</span>
      </h1>
      <div className="form-body">
        <form
          className="params"
          data-testid="params-form"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          {page.form.map((step) => (
            <fieldset key={step.id} data-step={step.id}>
              <legend>
                {step.id} <span className="muted mono">{step.function}</span>
              </legend>
              {!step.parameters.length && <div className="muted">no parameters</div>}
              {step.parameters.map((f) => {
                const k = key(step.id, f.name);
                const id = `param-${step.id}-${f.name}`;
                const msgs = placed.get(k) || [];
                return (
                  <div key={f.name} className={msgs.length ? "field invalid" : "field"} data-required={f.required ? "1" : undefined}>
                    <label htmlFor={id}>
                      {f.name}
                      {f.required && (
                        <span className="required" title="required: it has no default">
                          *
                        </span>
                      )}{" "}
                      <span className="muted">{f.annotation || f.jsonType || "any JSON"}</span>
                    </label>
                    {f.widget === "checkbox" ? (
                      <input id={id} data-testid={id} type="checkbox" checked={raw[k] === true} onChange={(e) => onField(step.id, f, e.target.checked)} />
                    ) : f.widget === "json" ? (
                      <textarea id={id} data-testid={id} rows={2} className="mono" value={String(raw[k] ?? "")} onChange={(e) => onField(step.id, f, e.target.value)} />
                    ) : (
                      <input
                        id={id}
                        data-testid={id}
                        type={f.widget === "number" ? "number" : "text"}
                        step={f.widget === "number" ? "any" : undefined}
                        required={f.required}
                        value={String(raw[k] ?? "")}
                        onChange={(e) => onField(step.id, f, e.target.value)}
                      />
                    )}
                    {f.hasDefault && <span className="muted default">default {JSON.stringify(f.default)}</span>}
                    {notes[k] && <div className="muted">{notes[k]}</div>}
                    {msgs.map((m) => (
                      <div key={m} className="error" data-testid={`problem-${step.id}-${f.name}`}>
                        {m}
                      </div>
                    ))}
                  </div>
                );
              })}
            </fieldset>
          ))}
        </form>
        <div className="yaml-side">
          <div className="toolbar">
            <h2>Run configuration (YAML)</h2>
            <label className="upload">
              upload .yaml <input type="file" accept=".yaml,.yml,application/yaml,text/yaml" data-testid="yaml-upload" onChange={(e) => onUpload(e.target.files?.[0])} />
            </label>
          </div>
          <textarea className="yaml-editor mono" data-testid="yaml-editor" spellCheck={false} value={yaml} onChange={(e) => onYaml(e.target.value)} />
        </div>
      </div>
      <div className="submit-bar">
        {general.length > 0 && (
          <ul className="problems error" data-testid="problems">
            {general.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        )}
        {problems.length > 0 && (
          <div className="error" data-testid="problem-count">
            {problems.length} problem{problems.length > 1 ? "s" : ""}: the operator would refuse this run
          </div>
        )}
        {refusal && (
          <div className="error" data-testid="run-refused">
            refused: <span data-testid="run-refused-reason">{refusal}</span>
          </div>
        )}
        {page.canRun.allowed && s.runnable ? (
          <button className="primary" data-testid="submit-run" disabled={submitting || checking || problems.length > 0} onClick={submit}>
            {submitting ? "starting…" : "Run"}
          </button>
        ) : (
          <RunButton snapshot={s} access={page.canRun} />
        )}
        {checking && <span className="muted">checking…</span>}
      </div>
    </section>
  );
}
