// Reading an import file into leads: CSV with a header row, or JSON Lines. Each lead keeps
// the line it started on, so a rejection can point at the file.

export type ImportFormat = 'csv' | 'jsonl';

export interface SourceRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  lead: Record<string, unknown>;
}

/** A file that cannot be read as leads at all; nothing is sent. */
export class ImportFileError extends Error {
  override name = 'ImportFileError';
}

/** By extension, else by the first character (`{` opens a JSON line). */
export function detectFormat(path: string, text: string): ImportFormat {
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

export function parseLeads(text: string, format: ImportFormat): SourceRecord[] {
  const clean = text.replace(/^\uFEFF/, '');
  return format === 'csv' ? parseCsvLeads(clean) : parseJsonLines(clean);
}

function parseJsonLines(text: string): SourceRecord[] {
  const records: SourceRecord[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new ImportFileError(`line ${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ImportFileError(`line ${i + 1}: expected a JSON object`);
    records.push({ line: i + 1, lead: value as Record<string, unknown> });
  });
  return records;
}

/** RFC 4180 rows: quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsvRows(text: string): Array<{ line: number; cells: string[] }> {
  const rows: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = () => {
    cells.push(cell);
    if (cells.length > 1 || cells[0] !== '') rows.push({ line: rowLine, cells });
    cells = [];
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') line += 1;
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (text[i + 1] === '"') cell += text[i++];
      else quoted = false;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') continue;
      endRow();
      rowLine = line;
    } else cell += ch;
  }
  if (quoted) throw new ImportFileError(`line ${rowLine}: a quoted field is not closed`);
  if (cell !== '' || cells.length > 0) endRow();
  return rows;
}

function parseCsvLeads(text: string): SourceRecord[] {
  const [header, ...rows] = parseCsvRows(text);
  if (!header) return [];
  const columns = header.cells.map(columnName);
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate) throw new ImportFileError(`line ${header.line}: column ${duplicate} appears twice in the header`);
  return rows.map(({ line, cells }) => {
    if (cells.slice(columns.length).some((c) => c.trim() !== '')) {
      throw new ImportFileError(`line ${line}: ${cells.length} cells, but the header names ${columns.length} columns`);
    }
    const lead: Record<string, unknown> = {};
    columns.forEach((column, i) => setField(lead, column, cells[i] ?? ''));
    return { line, lead };
  });
}

/** `First Name` and `first-name` mean first_name; `custom.<key>` keeps its key as written. */
function columnName(raw: string): string {
  const name = raw.trim();
  if (/^custom\./i.test(name)) return `custom.${name.slice(7)}`;
  return name.toLowerCase().replace(/[\s-]+/g, '_');
}

const BOOLEANS: Record<string, boolean> = { true: true, yes: true, '1': true, false: false, no: false, '0': false };

/** Empty cells are left out; unknown columns are passed on, for the API to name. */
function setField(lead: Record<string, unknown>, column: string, cell: string): void {
  if (cell === '') return;
  if (column.startsWith('custom.')) {
    lead.custom = { ...(lead.custom as Record<string, unknown> | undefined), [column.slice(7)]: cell };
  } else if (column === 'tags') {
    lead.tags = cell.split(';').map((t) => t.trim()).filter(Boolean);
  } else if (column === 'unsubscribed') {
    lead.unsubscribed = BOOLEANS[cell.trim().toLowerCase()] ?? cell;
  } else {
    lead[column] = cell;
  }
}
