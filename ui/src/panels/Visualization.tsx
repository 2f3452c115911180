// Stored visualizations: HTML in a sandboxed iframe, images, markdown (rendered safely), CSV as a table.
import { useEffect, useState } from "react";
import { withNs } from "../api";

const MAX_ROWS = 200;

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      if (rows.length > MAX_ROWS) break;
    } else cell += c;
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Markdown to React elements: headings, lists, code blocks, emphasis; no raw HTML. */
function Markdown({ text }: { text: string }) {
  const blocks: JSX.Element[] = [];
  const lines = text.split("\n");
  const inline = (s: string, key: number) => {
    const parts = s.split(/(`[^`]+`|\*\*[^*]+\*\*|\*[^*]+\*)/g);
    return (
      <span key={key}>
        {parts.map((p, i) =>
          p.startsWith("`") ? <code key={i}>{p.slice(1, -1)}</code> : p.startsWith("**") ? <b key={i}>{p.slice(2, -2)}</b> : p.startsWith("*") && p.length > 2 ? <i key={i}>{p.slice(1, -1)}</i> : p,
        )}
      </span>
    );
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith("```")) {
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      blocks.push(<pre key={i}>{code.join("\n")}</pre>);
    } else if (/^#{1,6} /.test(l)) {
      const level = l.indexOf(" ");
      blocks.push(<div key={i} className={`md-h md-h${level}`}>{inline(l.slice(level + 1), 0)}</div>);
    } else if (/^\s*[-*] /.test(l)) {
      const items: string[] = [];
      for (; i < lines.length && /^\s*[-*] /.test(lines[i]); i++) items.push(lines[i].replace(/^\s*[-*] /, ""));
      i--;
      blocks.push(<ul key={i}>{items.map((it, j) => <li key={j}>{inline(it, j)}</li>)}</ul>);
    } else if (l.trim()) blocks.push(<p key={i}>{inline(l, 0)}</p>);
  }
  return <div className="markdown">{blocks}</div>;
}

export function Visualization({ av, index, type }: { av: string; index: number; type: string }) {
  const url = withNs(`/api/artifacts/${encodeURIComponent(av)}/visualizations/${index}`);
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    if (type === "markdown" || type === "csv" || type === "json")
      fetch(url, { credentials: "same-origin" })
        .then((r) => r.text())
        .then(setText);
  }, [url, type]);
  if (type === "html")
    return <iframe className="vis-html" data-testid="vis-html" sandbox="allow-scripts" src={url} title={`visualization ${index}`} />;
  if (type === "image") return <img className="vis-image" data-testid="vis-image" src={url} alt={`visualization ${index}`} />;
  if (text === null) return <div className="loading">loading…</div>;
  if (type === "markdown") return <Markdown text={text} />;
  if (type === "csv") {
    const rows = parseCsv(text);
    return (
      <div className="vis-csv">
        <table className="list" data-testid="vis-csv">
          <thead>
            <tr>{rows[0]?.map((h, i) => <th key={i}>{h}</th>)}</tr>
          </thead>
          <tbody>
            {rows.slice(1, MAX_ROWS).map((r, i) => (
              <tr key={i}>{r.map((c, j) => <td key={j}>{c}</td>)}</tr>
            ))}
          </tbody>
        </table>
        {rows.length > MAX_ROWS && <p className="muted">first {MAX_ROWS} rows</p>}
      </div>
    );
  }
  return <pre className="json">{text}</pre>;
}
