// The status page's stylesheet, served as /console/app.css (style-src 'self': no inline styles).

export const CONSOLE_STYLES = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6575; --line: #d8dde5; --bg: #f6f7f9; --card: #fff;
  --bad: #b42318; --bad-bg: #fdecea; --warn: #9a6700; --warn-bg: #fff4d6; --accent: #2354c7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
#console { max-width: 1180px; margin: 0 auto; padding: 16px 20px 32px; }
header h1 { font-size: 20px; margin: 0 0 2px; }
a { color: var(--accent); }
.where, .hint { color: var(--muted); margin: 0 0 6px; }
.hint { font-size: 12px; }
.status { margin: 4px 0 12px; color: var(--muted); }
.status.error, .notice.error { color: var(--bad); }
.notice { margin-left: 8px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 0 0 14px; }
h2 { font-size: 16px; margin: 0 0 8px; }
h2 .ui-link { font-size: 12px; font-weight: normal; margin-left: 8px; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 10px; }
.figures div { flex: 1 1 150px; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.figures dt { color: var(--muted); font-size: 12px; }
.figures dd { margin: 0; font-size: 24px; font-variant-numeric: tabular-nums; }
.figures .bad { background: var(--bad-bg); border-color: var(--bad); }
.figures .bad dd { color: var(--bad); }
.figures .warn { background: var(--warn-bg); }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
figure { flex: 1 1 420px; margin: 0; }
figcaption { font-size: 12px; color: var(--muted); margin-bottom: 2px; }
.chart { position: relative; border: 1px solid var(--line); border-radius: 4px; padding: 4px 6px; min-height: 120px; }
.chart svg { display: block; width: 100%; height: 110px; background: repeating-linear-gradient(to bottom, #fff 0 27px, #eef1f5 27px 28px); }
.chart polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.chart .scale { position: absolute; left: 10px; top: 4px; font-size: 11px; color: var(--muted); }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 14px; padding: 0; margin: 4px 0 0; font-size: 12px; }
.legend li::before { content: ""; display: inline-block; width: 12px; height: 3px; margin: 0 5px 3px 0; background: currentColor; }
polyline.series-0 { stroke: #2354c7; } .legend .series-0 { color: #2354c7; }
polyline.series-1 { stroke: #1a7f37; } .legend .series-1 { color: #1a7f37; }
polyline.series-2 { stroke: #bc4c00; } .legend .series-2 { color: #bc4c00; }
polyline.series-3 { stroke: #8250df; } .legend .series-3 { color: #8250df; }
polyline.series-4 { stroke: #bf3989; } .legend .series-4 { color: #bf3989; }
table { width: 100%; border-collapse: collapse; margin: 6px 0; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td:first-child { box-shadow: inset 3px 0 var(--bad); }
tr.warn td { background: var(--warn-bg); }
.error-text { color: var(--bad); max-width: 360px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.empty { color: var(--muted); margin: 6px 0; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
button { font: inherit; white-space: nowrap; padding: 3px 10px; border: 1px solid var(--accent); border-radius: 4px; background: #fff; color: var(--accent); cursor: pointer; }
button:hover:not(:disabled) { background: var(--accent); color: #fff; }
button:disabled { border-color: var(--line); color: var(--muted); cursor: default; }
.key-form { background: var(--card); border: 1px solid var(--bad); border-radius: 6px; padding: 12px 16px; margin: 0 0 14px; }
.key-form p { margin: 0 0 8px; }
.key-form input { font: inherit; padding: 3px 6px; min-width: 280px; margin: 0 6px; }
footer { color: var(--muted); font-size: 12px; }
[hidden] { display: none !important; }
`;
