// Building the page: elements from plain values. Every value from the API reaches the page as
// text (textContent or an attribute), never as HTML.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error('the page has no #' + id);
  return node as T;
}

type Attrs = Record<string, string | number | boolean | null | undefined>;

/** `text` sets the text, `className` the class; other names are attributes (skipped when undefined, null or false). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'className') node.className = String(value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** The table's rows, with the table hidden and its "empty" line shown when there are none. */
export function fillTable(tableId: string, rows: HTMLTableRowElement[], emptyId: string): void {
  const table = byId<HTMLTableElement>(tableId);
  table.tBodies[0]?.replaceChildren(...rows);
  table.hidden = rows.length === 0;
  byId(emptyId).hidden = rows.length !== 0;
}

export function showNotice(text: string, isError: boolean): void {
  const n = byId('notice');
  n.textContent = text;
  n.className = isError ? 'notice error' : 'notice';
}

export function showStatus(text: string, isError: boolean): void {
  const s = byId('status');
  s.textContent = text;
  s.className = isError ? 'status error' : 'status';
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
}

export function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
