// A step's log: followed from the Pod while it runs, read from the artifact store after.
import { useEffect, useRef, useState } from "react";
import { subscribe } from "../api";

const MAX_CHARS = 2_000_000;

export function Logs({ run, step, attempt, phase }: { run: string; step: string; attempt?: number; phase?: string }) {
  const [text, setText] = useState("");
  const [source, setSource] = useState("");
  const [note, setNote] = useState("");
  const [done, setDone] = useState(false);
  const box = useRef<HTMLPreElement>(null);
  // re-open when the step moves from pending to running, or ends (the saved log is then complete)
  const finished = phase === "completed" || phase === "failed" || phase === "cancelled";
  const stage = phase === "pending" ? "pending" : finished ? "finished" : "active";
  useEffect(() => {
    setText("");
    setNote("");
    setDone(false);
    setSource("");
    return subscribe(`/api/runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}/logs`, { attempt: attempt ? String(attempt) : null }, {
      source: (d) => setSource(d.source),
      text: (d) => {
        if (d.source) setSource(d.source);
        setText((t) => (t + d.text).slice(-MAX_CHARS));
      },
      end: (d) => {
        if (d.note) setNote(d.note);
        setDone(true);
      },
      error: (d) => {
        setNote(d.message);
        setDone(true);
      },
    });
  }, [run, step, attempt, stage]);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <div className="logs">
      <div className="muted">
        {source === "pod" ? (done ? "from the Pod" : "streaming from the Pod…") : source === "store" ? "saved log (artifact store)" : ""}
        {note && <span> · {note}</span>}
      </div>
      <pre ref={box} data-testid="logs" data-source={source}>
        {text}
      </pre>
    </div>
  );
}
