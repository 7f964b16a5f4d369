import type { ModelBenchResult, ModelBenchSummary } from './run-model-bench';

interface Metric {
  title: string;
  color: string;
  value(model: ModelBenchSummary): number | null;
  label(value: number): string;
}

const metrics: Metric[] = [
  {
    title: 'pass rate',
    color: '#3fb950',
    value: (m) => (m.passRate === null ? null : m.passRate * 100),
    label: (v) => `${Math.round(v)}%`,
  },
  { title: 'median latency (ms)', color: '#58a6ff', value: (m) => m.latencyMs, label: (v) => String(Math.round(v)) },
  {
    title: 'median time to first token (ms)',
    color: '#bc8cff',
    value: (m) => m.ttftMs,
    label: (v) => String(Math.round(v)),
  },
  { title: 'tokens per second', color: '#d29922', value: (m) => m.tokensPerSecond, label: (v) => v.toFixed(1) },
];

const escapeXml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );

const clip = (text: string, max: number) => (text.length > max ? `…${text.slice(text.length - max + 1)}` : text);

const width = 760;
const labelWidth = 250;
const barArea = 420;
const row = 22;
const bar = 14;

/**
 * The bench as an SVG bar chart: one panel per figure (pass rate, median latency, median time to first token,
 * tokens per second), one bar per model, each labelled with its value ("–" where there is none). Plain SVG 1.1, no
 * script, no external reference.
 */
export function benchChartSvg(result: ModelBenchResult): string {
  const parts: string[] = [];
  let y = 50;
  for (const metric of metrics) {
    const values = result.models.map((m) => metric.value(m));
    const max = Math.max(0, ...values.map((v) => (v === null || !Number.isFinite(v) ? 0 : v)));
    parts.push(`<text x="12" y="${y}" class="title">${escapeXml(metric.title)}</text>`);
    y += 10;
    result.models.forEach((model, i) => {
      const value = values[i] ?? null;
      const top = y + i * row;
      const w = value === null || max === 0 ? 0 : Math.max(1, (value / max) * barArea);
      parts.push(
        `<text x="${labelWidth - 8}" y="${top + bar - 3}" text-anchor="end">${escapeXml(clip(model.model, 32))}</text>`,
      );
      if (value !== null) {
        parts.push(
          `<rect x="${labelWidth}" y="${top}" width="${w.toFixed(1)}" height="${bar}" rx="2" fill="${metric.color}"/>`,
        );
      }
      const text = value === null ? '–' : metric.label(value);
      parts.push(`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${top + bar - 3}">${escapeXml(text)}</text>`);
    });
    y += result.models.length * row + 24;
  }
  const height = y;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>Model bench, ${escapeXml(result.startedAt)}: ${result.tasks.length} tasks, ${result.models.length} models</title>`,
    '<style>text { fill: #24292f; } .title { font-weight: 600; font-size: 13px; }</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="18" class="title">Model bench: ${result.tasks.length} tasks, ${escapeXml(result.startedAt)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
