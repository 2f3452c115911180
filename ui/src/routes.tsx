// The UI's pages: one table of routes and one of top-bar links. A view lives in its own
// module under pages/ and adds its routes (and at most one nav item) here.
import { Pipelines } from "./pages/Pipelines";
import { Run } from "./pages/Run";
import { Runs } from "./pages/Runs";
import { RunForm } from "./pages/snapshots/RunForm";
import { Snapshot } from "./pages/snapshots/Snapshot";
import { Snapshots } from "./pages/snapshots/Snapshots";
import type { NavItem, Route } from "./router";
import { dashboardNav, dashboardRoutes } from "./dashboard/routes";

export const routes: Route[] = [
  { path: "/", render: () => <Pipelines /> },
  { path: "/runs", render: ({ location }) => <Runs key={location} /> },
  { path: "/runs/:name", render: ({ params, config }) => <Run key={params.name} name={params.name} config={config} /> },
  { path: "/snapshots", render: ({ query, location }) => <Snapshots key={location} pipeline={query.get("pipeline")} /> },
  { path: "/snapshots/:name", render: ({ params }) => <Snapshot key={params.name} name={params.name} /> },
  { path: "/snapshots/:name/run", render: ({ params }) => <RunForm key={params.name} name={params.name} /> },
  ...dashboardRoutes,
];

export const nav: NavItem[] = [
  { label: "Pipelines", path: "/", match: (p) => p === "/" },
  { label: "Runs", path: "/runs", match: (p) => p === "/runs" || p.startsWith("/runs/") },
  { label: "Snapshots", path: "/snapshots", match: (p) => p === "/snapshots" || p.startsWith("/snapshots/") },
  ...dashboardNav,
];
