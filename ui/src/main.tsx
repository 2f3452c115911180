import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { ApiError, getJson } from "./api";
import type { UiConfig } from "./config";
import { Login } from "./pages/Login";
import { Problem } from "./pages/Problem";
import { resolve, useLocation } from "./router";
import { nav, routes } from "./routes";
import "./styles.css";

performance.mark("kubeline:script-start");

function App() {
  const location = useLocation();
  const [config, setConfig] = useState<UiConfig | null>(null);
  useEffect(() => {
    getJson<UiConfig>("/api/config").then(setConfig);
  }, [location]);
  if (!config) return null;
  const query = new URLSearchParams(window.location.search);
  const ns = query.get("ns") || config.namespace;
  const nsQuery = ns !== config.namespace ? `?ns=${encodeURIComponent(ns)}` : "";
  const pathname = window.location.pathname;
  let page;
  if (!config.signedIn) page = <Login />;
  else {
    const found = resolve(routes, pathname);
    page = found ? (
      found.route.render({ params: found.params, query, config, location })
    ) : (
      <Problem error={new ApiError(404, { error: "not_found", message: `no page at ${pathname}` })} />
    );
  }
  return (
    <div className="app">
      <header className="top">
        <a className="brand" href={`/${nsQuery}`}>
          Kubeline
        </a>
        <nav data-testid="nav">
          {nav.map((item) => (
            <a key={item.path} href={`${item.path}${nsQuery}`} className={item.match(pathname) ? "current" : undefined}>
              {item.label}
            </a>
          ))}
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
