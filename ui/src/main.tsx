import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { getJson } from "./api";
import { Pipelines } from "./pages/Pipelines";
import { Runs } from "./pages/Runs";
import { Run } from "./pages/Run";
import { Login } from "./pages/Login";
import "./styles.css";

export interface UiConfig {
  mode: string;
  namespace: string;
  readOnly: boolean;
  signedIn: boolean;
}

/** Client-side navigation: links with data-nav change the page without a reload. */
export function navigate(to: string) {
  window.history.pushState(null, "", to);
  window.dispatchEvent(new Event("kubeline:navigate"));
}

function usePath(): string {
  const [path, setPath] = useState(window.location.pathname + window.location.search);
  useEffect(() => {
    const on = () => setPath(window.location.pathname + window.location.search);
    window.addEventListener("popstate", on);
    window.addEventListener("kubeline:navigate", on);
    const click = (e: MouseEvent) => {
      const a = (e.target as HTMLElement).closest("a");
      if (!a || a.target || e.ctrlKey || e.metaKey || e.shiftKey || a.origin !== window.location.origin) return;
      if (a.pathname.startsWith("/api/")) return;
      e.preventDefault();
      navigate(a.pathname + a.search);
    };
    document.addEventListener("click", click);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener("kubeline:navigate", on);
      document.removeEventListener("click", click);
    };
  }, []);
  return path;
}

performance.mark("kubeline:script-start");

function App() {
  const path = usePath();
  const [config, setConfig] = useState<UiConfig | null>(null);
  useEffect(() => {
    getJson<UiConfig>("/api/config").then(setConfig);
  }, [path]);
  if (!config) return null;
  const ns = new URLSearchParams(window.location.search).get("ns") || config.namespace;
  const q = window.location.search;
  const pathname = window.location.pathname;
  let page;
  if (!config.signedIn) page = <Login />;
  else if (pathname.startsWith("/runs/")) page = <Run key={pathname} name={decodeURIComponent(pathname.slice(6))} config={config} />;
  else if (pathname === "/runs") page = <Runs key={q} />;
  else page = <Pipelines />;
  return (
    <div className="app">
      <header className="top">
        <a className="brand" href={`/${q}`}>
          Kubeline
        </a>
        <nav>
          <a href={`/${q}`}>Pipelines</a>
          <a href={`/runs${ns !== config.namespace ? `?ns=${ns}` : ""}`}>Runs</a>
        </nav>
        <span className="ns">
          namespace <b>{ns}</b> · {config.mode} credentials{config.readOnly ? " · read-only" : ""}
        </span>
      </header>
      <main>{page}</main>
    </div>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
