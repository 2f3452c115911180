"""A run's DAG as one self-contained HTML/SVG snippet, for notebooks (``run._repr_html_``).

No server and no script: steps as rounded boxes coloured by status, artifacts as pills,
laid out in layers (longest path from the sources). Colours match the web UI's legend.
"""

from __future__ import annotations

from html import escape
from typing import Any

#: The UI's status colours (ui/src/colors.ts holds the same table).
STATUS_COLORS = {
    "completed": "#2563eb", "running": "#eab308", "failed": "#dc2626", "cached": "#16a34a",
    "pending": "#9ca3af", "initialized": "#9ca3af", "retrying": "#f97316",
    "cancelled": "#7c3aed", "skipped": "#d1d5db",
}
LEGEND = ("completed", "running", "failed", "cached", "pending", "retrying", "cancelled")
_DARK_TEXT = {"running", "pending", "initialized", "skipped"}
MAX_NODES = 400
STEP_W, STEP_H, ART_W, ART_H, GAP_X, GAP_Y = 170, 40, 140, 26, 20, 34


def _layers(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    rank = dict.fromkeys(nodes, 0)
    ins: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        ins[b].append(a)
    for _ in range(len(nodes)):  # nodes arrive in DAG order; relax until stable
        changed = False
        for n in nodes:
            want = max((rank[p] + 1 for p in ins[n]), default=0)
            if want != rank[n]:
                rank[n], changed = want, True
        if not changed:
            break
    layers: list[list[str]] = [[] for _ in range(max(rank.values(), default=0) + 1)]
    for n in nodes:
        layers[rank[n]].append(n)
    return layers


def dag_svg(dag: dict[str, Any], title: str = "") -> str:
    """The SVG of a run's DAG (``payloads.run_dag`` output)."""
    steps = {s["id"]: s for s in dag["steps"]}
    arts = {f"a:{a['id']}": a for a in dag["artifacts"]}
    nodes = [f"s:{sid}" for sid in steps] + list(arts)
    if len(nodes) > MAX_NODES:
        return (f"<p>{escape(title)}: {len(steps)} steps — too many to draw inline; open it with "
                "<code>kubeline ui</code> or <code>run.visualize()</code>.</p>")
    edges = [(f"s:{a['step']}", key) for key, a in arts.items() if a["step"] in steps]
    for s in dag["steps"]:
        for inp in s.get("inputs") or []:
            key = f"a:{inp.get('step')}/{inp.get('output')}"
            if key in arts:
                edges.append((key, f"s:{s['id']}"))
        edges.extend((f"s:{a}", f"s:{s['id']}") for a in s.get("after") or [] if a in steps)
    pos: dict[str, tuple[float, float, int, int]] = {}
    layers = _layers(nodes, edges)
    widths = [sum(STEP_W if n.startswith("s:") else ART_W for n in layer) + GAP_X * (len(layer) - 1)
              for layer in layers]
    full: float = max(widths, default=STEP_W)
    y = 40
    for layer, width in zip(layers, widths, strict=True):
        x = (full - width) / 2 + 10
        for n in layer:
            w, h = (STEP_W, STEP_H) if n.startswith("s:") else (ART_W, ART_H)
            pos[n] = (x, y, w, h)
            x += w + GAP_X
        y += STEP_H + GAP_Y
    parts = []
    for a, b in edges:
        ax, ay, aw, ah = pos[a]
        bx, by, bw, _ = pos[b]
        dashed = ' stroke-dasharray="4 4"' if a.startswith("s:") and b.startswith("s:") else ""
        parts.append(f'<line x1="{ax + aw / 2}" y1="{ay + ah}" x2="{bx + bw / 2}" y2="{by}" '
                     f'stroke="#94a3b8"{dashed}/>')
    for n, (x, yy, w, h) in pos.items():
        if n.startswith("s:"):
            s = steps[n[2:]]
            phase = s.get("phase") or "pending"
            fill = STATUS_COLORS.get(phase, STATUS_COLORS["pending"])
            ink = "#111827" if phase in _DARK_TEXT else "#ffffff"
            parts.append(
                f'<g data-step="{escape(s["id"])}" data-status="{phase}"><rect x="{x}" y="{yy}" '
                f'width="{w}" height="{h}" rx="8" fill="{fill}"/><text x="{x + 10}" y="{yy + 17}" '
                f'fill="{ink}" font-weight="600">{escape(s["id"][:24])}</text><text x="{x + 10}" '
                f'y="{yy + 32}" fill="{ink}" font-size="10">{phase}</text></g>')
        else:
            art = arts[n]
            phase = (steps.get(art["step"]) or {}).get("phase") or "pending"
            color = STATUS_COLORS.get(phase, STATUS_COLORS["pending"])
            dash = "" if art.get("artifactVersion") else ' stroke-dasharray="3 3"'
            parts.append(
                f'<g><rect x="{x}" y="{yy}" width="{w}" height="{h}" rx="13" fill="#fff" '
                f'stroke="{color}" stroke-width="2"{dash}/><text x="{x + 12}" y="{yy + 17}" '
                f'fill="#111827">{escape(art["output"][:20])}</text></g>')
    legend = []
    lx = 10.0
    for phase in LEGEND:
        legend.append(f'<rect x="{lx}" y="8" width="12" height="12" rx="3" '
                      f'fill="{STATUS_COLORS[phase]}"/><text x="{lx + 16}" y="18">{phase}</text>')
        lx += 22 + 7 * len(phase)
    svg_width = max(full + 20, lx)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{svg_width}" height="{y + 10}" '
            f'font-family="system-ui, sans-serif" font-size="12" class="kubeline-dag">'
            f'<title>{escape(title)}</title>{"".join(legend)}{"".join(parts)}</svg>')


def run_html(run: Any) -> str:
    """The notebook view of a run: a header line and its DAG."""
    from kubeline.ui.payloads import run_dag

    try:
        spec = run.snapshot.spec
    except Exception:
        spec = None
    dag = run_dag(run, spec)
    color = STATUS_COLORS.get(run.status, "#9ca3af")
    head = (f'<div><b>{escape(run.name)}</b> <span style="background:{color};color:#fff;'
            f'padding:1px 8px;border-radius:9px">{escape(run.status)}</span> '
            f'{escape(run.progress or "")}</div>')
    return f'<div class="kubeline-run">{head}{dag_svg(dag, run.name)}</div>'
