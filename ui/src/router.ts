// Client-side routing: a table of path patterns (":name" matches one segment), the current
// location as a hook, and navigation without a reload for same-origin links.
import type { ReactElement } from "react";
import { useEffect, useState } from "react";
import type { UiConfig } from "./config";

export interface RouteContext {
  /** Path parameters, decoded (":name" in the pattern). */
  params: Record<string, string>;
  query: URLSearchParams;
  config: UiConfig;
  /** pathname + search: pages keyed by it remount when it changes. */
  location: string;
}

export interface Route {
  /** e.g. "/snapshots/:name/run"; matched against the whole pathname. */
  path: string;
  render: (ctx: RouteContext) => ReactElement;
}

/** A top-bar link: `match` says which pathnames mark it current. */
export interface NavItem {
  label: string;
  path: string;
  match: (pathname: string) => boolean;
}

export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const got = pathname.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
    } else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** The first route matching `pathname`, with its parameters. */
export function resolve(routes: Route[], pathname: string): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (params) return { route, params };
  }
  return null;
}

/** Change the page without a reload. */
export function navigate(to: string) {
  window.history.pushState(null, "", to);
  window.dispatchEvent(new Event("kubeline:navigate"));
}

/** The current pathname + search; same-origin link clicks navigate in place. */
export function useLocation(): string {
  const [path, setPath] = useState(window.location.pathname + window.location.search);
  useEffect(() => {
    const on = () => setPath(window.location.pathname + window.location.search);
    window.addEventListener("popstate", on);
    window.addEventListener("kubeline:navigate", on);
    const click = (e: MouseEvent) => {
      const a = (e.target as HTMLElement).closest("a");
      if (!a || a.target || a.hasAttribute("download") || e.ctrlKey || e.metaKey || e.shiftKey || a.origin !== window.location.origin) return;
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
