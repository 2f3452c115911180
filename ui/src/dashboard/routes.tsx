// The dashboard's pages (models, compare, lineage, artifacts) and their top-bar links,
// spread into the app's tables in ../routes.tsx.
import type { NavItem, Route } from "../router";
import { Artifact, Artifacts } from "./Artifacts";
import { Compare } from "./Compare";
import { Lineage } from "./Lineage";
import { Model, Models } from "./Models";

export const dashboardRoutes: Route[] = [
  { path: "/models", render: () => <Models /> },
  { path: "/models/:name", render: ({ params }) => <Model key={params.name} name={params.name} /> },
  { path: "/compare", render: ({ query, location }) => <Compare key={location} query={query} /> },
  { path: "/lineage", render: ({ query, location }) => <Lineage key={location} query={query} /> },
  { path: "/artifacts", render: () => <Artifacts /> },
  { path: "/artifacts/:name", render: ({ params, query, location }) => <Artifact key={location} name={params.name} query={query} /> },
];

export const dashboardNav: NavItem[] = [
  { label: "Models", path: "/models", match: (p) => p.startsWith("/models") },
  { label: "Artifacts", path: "/artifacts", match: (p) => p.startsWith("/artifacts") || p === "/lineage" },
  { label: "Compare", path: "/compare", match: (p) => p === "/compare" },
];
