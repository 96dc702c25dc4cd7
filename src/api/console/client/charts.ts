// The charts: inline SVG polylines over the samples of the figures this tab has seen. The API
// keeps no history; the samples outlive a reload of the page (sessionStorage, this tab only),
// not the window.

import type { ConsoleConfig } from './config.js';
import { byId, el, formatNumber } from './dom.js';

export interface Sample {
  at: number;
  accepted: number;
  synced: number;
  /** Tasks waiting, per task queue. */
  backlog: Record<string, number>;
}

export interface Series {
  name: string;
  /** One value per sample, in the samples' order. */
  values: number[];
}

const SAMPLES = 'ao-console-samples';
const W = 600;
const H = 120;
const SVG = 'http://www.w3.org/2000/svg';

/** Drops the samples older than the window (or beyond its count), then stores the rest. */
export function keepSamples(samples: Sample[], cfg: ConsoleConfig): void {
  const oldest = Date.now() - cfg.samples * cfg.refreshMs;
  while (samples.length > 0 && (samples.length > cfg.samples || samples[0]!.at < oldest)) samples.shift();
  try {
    sessionStorage.setItem(SAMPLES, JSON.stringify(samples));
  } catch {
    /* full or private: memory only */
  }
}

export function restoreSamples(cfg: ConsoleConfig): Sample[] {
  const samples: Sample[] = [];
  try {
    const kept: unknown = JSON.parse(sessionStorage.getItem(SAMPLES) || '[]');
    if (Array.isArray(kept)) {
      for (const s of kept as Partial<Sample>[]) if (s && typeof s.at === 'number' && s.backlog) samples.push(s as Sample);
    }
  } catch {
    /* nothing usable kept */
  }
  keepSamples(samples, cfg);
  return samples;
}

/** Each series placed by its samples' times over the window, with a legend of the last values and the scale. */
export function drawChart(containerId: string, series: Series[], samples: Sample[], cfg: ConsoleConfig): void {
  const now = Date.now();
  const windowMs = cfg.samples * cfg.refreshMs;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  series.forEach((s, index) => {
    if (s.values.length === 0) return;
    const points = s.values.map((v, i) => {
      const x = W - ((now - samples[i]!.at) / windowMs) * W;
      const y = H - 2 - (v / max) * (H - 4);
      return Math.max(0, x).toFixed(1) + ',' + y.toFixed(1);
    });
    // One sample: a flat line from it to now.
    if (points.length === 1) points.push(W + ',' + points[0]!.split(',')[1]);
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('class', 'series-' + index);
    svg.append(line);
  });
  const legend = el('ul', { className: 'legend' });
  series.forEach((s, index) => {
    const last = s.values.at(-1);
    legend.append(el('li', { className: 'series-' + index }, s.name + ': ' + (last === undefined ? '–' : formatNumber(last))));
  });
  const scale = el('span', { className: 'scale', text: 'max ' + formatNumber(max) + ' · last ' + Math.round(windowMs / 60000) + ' min' });
  svg.setAttribute('aria-label', series.map((s) => s.name).join(', ') + ', up to ' + formatNumber(max));
  byId(containerId).replaceChildren(scale, svg, legend);
}
