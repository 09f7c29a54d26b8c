"""Draws a dashboard's panels from a Prometheus range query into one SVG: a grid of line
charts as Grafana lays them out, with titles, a y-axis maximum and legends. Used by run.py's
--picture, so the picture in docs/operations.md comes from real data."""

import json
import urllib.parse
import urllib.request
from html import escape
from pathlib import Path

COLOURS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9",
           "#705da0", "#508642", "#cca300"]
CELL_W, CELL_H, ROW_H = 46, 30, 28   # pixels per grid unit across, per unit down, per row


def _range(prometheus, expr, start, end):
    query = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 1})
    with urllib.request.urlopen(f"{prometheus}/api/v1/query_range?{query}", timeout=30) as answer:
        return json.loads(answer.read())["data"]["result"]


def _legend(template, labels):
    text = template
    for name, value in labels.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def _scale(value, unit):
    if unit == "percentunit":
        return f"{value * 100:.0f}%"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.3g}"


def _panel(panel, lines, x, y, w, h):
    out = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#181b1f" stroke="#2c3235"/>',
           f'<text x="{x + 8}" y="{y + 18}" fill="#d8d9da" font-size="13">{escape(panel["title"])}</text>']
    plot_x, plot_y, plot_w = x + 44, y + 30, w - 54
    legend_rows = (min(len(lines), 8) + 1) // 2
    plot_h = h - 30 - 20 - 14 * legend_rows
    values = [v for _, points in lines for _, v in points]
    top = max(values, default=0) or 1
    unit = panel["fieldConfig"]["defaults"]["unit"]
    out.append(f'<text x="{x + 4}" y="{plot_y + 10}" fill="#8e8e8e" font-size="10">{_scale(top, unit)}</text>')
    out.append(f'<line x1="{plot_x}" y1="{plot_y + plot_h}" x2="{plot_x + plot_w}" '
               f'y2="{plot_y + plot_h}" stroke="#2c3235"/>')
    times = [t for _, points in lines for t, _ in points]
    first, last = min(times, default=0), max(times, default=1)
    span = (last - first) or 1
    out.append(f'<text x="{plot_x}" y="{plot_y + plot_h + 11}" fill="#8e8e8e" font-size="9">'
               f'-{span:.0f} s</text><text x="{plot_x + plot_w - 18}" y="{plot_y + plot_h + 11}" '
               f'fill="#8e8e8e" font-size="9">now</text>')
    for index, (name, points) in enumerate(lines):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{plot_x + (t - first) / span * plot_w:.1f},"
                        f"{plot_y + plot_h - v / top * plot_h:.1f}" for t, v in points)
        if path:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        if index < 8:
            legend_x = x + 10 + (index % 2) * (w // 2)
            legend_y = plot_y + plot_h + 26 + 14 * (index // 2)
            out.append(f'<rect x="{legend_x}" y="{legend_y - 6}" width="10" height="3" fill="{colour}"/>'
                       f'<text x="{legend_x + 16}" y="{legend_y}" fill="#c7d0d9" font-size="11">'
                       f'{escape(name[:34])}</text>')
    if not lines:
        out.append(f'<text x="{plot_x + 8}" y="{plot_y + 20}" fill="#8e8e8e" font-size="12">No data</text>')
    return out


def draw(prometheus, dashboard_path, variables, start, end, out_path):
    board = json.loads(Path(dashboard_path).read_text())
    tops, y_at, offset = {}, {}, 0
    for panel in sorted(board["panels"], key=lambda p: p["gridPos"]["y"]):
        grid = panel["gridPos"]
        if grid["y"] not in y_at:
            y_at[grid["y"]] = offset
            offset += ROW_H if panel["type"] == "row" else grid["h"] * CELL_H
        tops[panel["id"]] = y_at[grid["y"]]
    svg = []
    for panel in board["panels"]:
        grid, top = panel["gridPos"], tops[panel["id"]] + 40
        if panel["type"] == "row":
            svg.append(f'<text x="8" y="{top + 19}" fill="#d8d9da" font-size="15" '
                       f'font-weight="bold">{escape(panel["title"])}</text>')
            continue
        lines = []
        for target in panel["targets"]:
            expr = target["expr"]
            for name in sorted(variables, key=len, reverse=True):
                expr = expr.replace(name, variables[name])
            for result in _range(prometheus, expr, start, end):
                points = [(float(t), float(v)) for t, v in result["values"]
                          if v not in ("NaN", "+Inf", "-Inf")]
                lines.append((_legend(target["legendFormat"], result["metric"]), points))
        svg += _panel(panel, lines, grid["x"] * CELL_W + 4, top + 4,
                      grid["w"] * CELL_W - 8, grid["h"] * CELL_H - 8)
    width, height = 24 * CELL_W, offset + 48
    Path(out_path).write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="Inter, Helvetica, Arial, sans-serif">'
        f'<rect width="100%" height="100%" fill="#111217"/>'
        f'<text x="8" y="26" fill="#d8d9da" font-size="18">{escape(board["title"])} · '
        f'{int(end - start)} s of a test run (tests/prometheus/run.py)</text>'
        + "".join(svg) + "</svg>\n")
