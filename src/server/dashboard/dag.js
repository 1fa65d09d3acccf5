// A plan's dependency graph: layering by depth and SVG rendering, plus strategies as text.

import { vocabulary } from './constants.js';
import { elapsedText, fmtDuration, s, statusClass } from './dom.js';

/** The index a dependency refers to (an index, or a step's name), or -1. */
function stepIndexOf(plan, ref) {
  if (typeof ref === 'number') return ref;
  if (typeof ref !== 'string') return -1;
  if (/^(0|[1-9]\d*)$/.test(ref)) return Number(ref);
  return (plan?.commands ?? []).findIndex((c) => c?.name === ref);
}

/** How a step is referred to: its name, else `#index`. */
export function stepLabel(plan, index) {
  return plan?.commands?.[index]?.name ?? `#${index}`;
}

/** Index -> indices it depends on, for any strategy (dependencies may name steps or give indices). */
export function planParents(plan, n) {
  const strategy = plan?.strategy ?? { type: 'serial' };
  const listed = Array.from({ length: n }, () => []);
  if (strategy.type === 'dependency_graph') {
    for (const [key, deps] of Object.entries(strategy.dependencies ?? {})) {
      const i = stepIndexOf(plan, key);
      if (!Number.isInteger(i) || i < 0 || i >= n || !Array.isArray(deps)) continue;
      listed[i].push(...deps.map((d) => stepIndexOf(plan, d)));
    }
  }
  return Array.from({ length: n }, (_, i) => {
    if (strategy.type === 'dependency_graph')
      return [...new Set(listed[i])].filter((p) => Number.isInteger(p) && p >= 0 && p < n && p !== i);
    if (strategy.type === 'serial') return i > 0 ? [i - 1] : [];
    return [];
  });
}

/** Layers by dependency depth; within a layer, ordered near their parents (barycenter). */
function layoutGraph(parents) {
  const n = parents.length;
  const depth = new Array(n).fill(-1);
  const visiting = new Set();
  const depthOf = (i) => {
    if (depth[i] >= 0) return depth[i];
    if (visiting.has(i)) return 0; // a cycle (the server refuses them): do not loop
    visiting.add(i);
    let d = 0;
    for (const p of parents[i]) d = Math.max(d, depthOf(p) + 1);
    visiting.delete(i);
    depth[i] = d;
    return d;
  };
  for (let i = 0; i < n; i++) depthOf(i);
  const layers = [];
  for (let i = 0; i < n; i++) (layers[depth[i]] ??= []).push(i);
  const pos = new Array(n).fill(0);
  layers.forEach((layer, li) => {
    if (li > 0) {
      const center = (i) =>
        parents[i].length
          ? parents[i].reduce((sum, p) => sum + pos[p], 0) / parents[i].length
          : Number.MAX_SAFE_INTEGER;
      layer.sort((a, b) => center(a) - center(b) || a - b);
    }
    layer.forEach((i, k) => (pos[i] = k));
  });
  return { depth, layers: layers.filter(Boolean), pos };
}

let dagCount = 0;

/**
 * An SVG graph of a plan's commands. `nodes`: [{id, index, title, detail, status, carried?}] in
 * plan order (the DOM keeps that order; `carried`: a step carried over from a resumed run). Returns the element and `update` / `select` to keep it live.
 */
export function renderDag(nodes, parents, { interactive = true, testids = true, onSelect = null } = {}) {
  const W = 212;
  const H = 58;
  const GX = 66;
  const GY = 18;
  const PAD = 14;
  const { depth, layers, pos } = layoutGraph(parents);
  const maxRows = Math.max(1, ...layers.map((l) => l.length));
  const width = PAD * 2 + layers.length * W + Math.max(0, layers.length - 1) * GX;
  const height = PAD * 2 + maxRows * H + (maxRows - 1) * GY;
  const xy = nodes.map((_, i) => {
    const layerLen = layers[depth[i]].length;
    const top = PAD + (height - 2 * PAD - (layerLen * H + (layerLen - 1) * GY)) / 2;
    return { x: PAD + depth[i] * (W + GX), y: top + pos[i] * (H + GY) };
  });
  const markerId = `dag-arrow-${++dagCount}`;
  const svg = s(
    'svg',
    {
      class: 'dag-svg',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'group',
      'aria-label': `Dependency graph of ${nodes.length} commands`,
    },
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: markerId,
          viewBox: '0 0 10 10',
          refX: 10,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'dag-arrowhead' }),
      ),
    ),
  );
  const edgeGroup = s('g', { class: 'dag-edges' });
  const nodeGroup = s('g', { class: 'dag-nodes' });
  svg.append(edgeGroup, nodeGroup);

  const edges = []; // {from, to, path}
  parents.forEach((ps, to) => {
    for (const from of ps) {
      const a = xy[from];
      const b = xy[to];
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = b.x - 2;
      const y2 = b.y + H / 2;
      const path = s('path', {
        d: `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`,
        class: 'dag-edge',
        'marker-end': `url(#${markerId})`,
      });
      edgeGroup.append(path);
      edges.push({ from, to, path });
    }
  });

  const maxChars = Math.floor((W - 26) / 7.1);
  const clip = (text) => (text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text);
  const els = new Map();
  let selected = null;

  nodes.forEach((node, i) => {
    const title = s('title');
    const sub = s('text', { x: 16, y: 42, class: 'dag-sub' });
    const g = s(
      'g',
      {
        class: 'dag-node',
        transform: `translate(${xy[i].x},${xy[i].y})`,
        'data-id': node.id,
        testid: testids ? 'dag-node' : null,
      },
      title,
      s('rect', { class: 'dag-box', width: W, height: H, rx: 8, ry: 8 }),
      s('rect', { class: 'dag-stripe', x: 0, y: 0, width: 5, height: H, rx: 2 }),
      s('text', { x: 16, y: 23, class: 'dag-title' }, clip(`${node.name ?? `#${node.index}`} ${node.title}`)),
      sub,
    );
    if (interactive) {
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('aria-pressed', 'false');
      g.addEventListener('click', () => onSelect?.(node.id));
      g.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onSelect?.(node.id);
        }
      });
    }
    nodeGroup.append(g);
    els.set(node.id, { g, title, sub, node, index: i });
  });

  function update(id, status, view) {
    const e = els.get(id);
    if (!e) return;
    e.node.status = status;
    e.g.setAttribute('data-status', status);
    // A step carried over from the run this one resumed did not run here: drawn apart from the steps that ran.
    const carried = e.node.carried === true;
    e.g.setAttribute(
      'class',
      `dag-node s-${statusClass(status)}${carried ? ' carried' : ''}${selected === id ? ' selected' : ''}`,
    );
    if (carried) e.g.setAttribute('data-carried', 'true');
    const running = status === 'running' && view?.started_at;
    if (running) {
      e.sub.setAttribute('data-since', view.started_at);
      e.sub.setAttribute('data-prefix', 'running · ');
      e.sub.textContent = elapsedText(view.started_at, 'running · ');
    } else {
      e.sub.removeAttribute('data-since');
      const bits = carried ? ['carried over', status] : [status];
      if (
        !carried &&
        view?.duration_ms !== null &&
        view?.duration_ms !== undefined &&
        // A duration only for work that ran and ended: not still waiting (active), skipped, or only planned.
        !vocabulary.active.has(status) &&
        status !== 'skipped' &&
        status !== 'planned'
      )
        bits.push(fmtDuration(view.duration_ms));
      if (view?.exit_code !== null && view?.exit_code !== undefined && view.exit_code > 0)
        bits.push(`exit ${view.exit_code}`);
      e.sub.textContent = bits.join(' · ');
    }
    const label = `Command #${e.node.index}${e.node.name ? ` (${e.node.name})` : ''}: ${e.node.title} — ${status}${carried ? ` (carried over${view?.carried_from ? ` from ${view.carried_from}` : ''}: not run again)` : ''}`;
    e.title.textContent = `${label}\n${e.node.detail ?? ''}`;
    if (interactive) e.g.setAttribute('aria-label', label);
    for (const edge of edges) {
      if (edge.from === e.index) edge.path.setAttribute('class', `dag-edge e-${statusClass(status)}`);
    }
  }

  function select(id) {
    selected = id;
    for (const [nodeId, e] of els) {
      e.g.classList.toggle('selected', nodeId === id);
      if (interactive) e.g.setAttribute('aria-pressed', String(nodeId === id));
    }
  }

  for (const node of nodes) update(node.id, node.status ?? 'pending', null);
  return { svg, update, select };
}

export function strategyText(strategy) {
  if (!strategy) return '';
  if (strategy.type === 'serial')
    return `serial${strategy.stop_on_error === false ? ', continue on error' : ', stop on error'}`;
  if (strategy.type === 'parallel')
    return `parallel${strategy.max_concurrency ? `, at most ${strategy.max_concurrency} at once` : ''}`;
  if (strategy.type === 'dependency_graph') return 'dependency graph';
  return String(strategy.type ?? '');
}
