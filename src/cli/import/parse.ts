// Reading an import file into leads: CSV with a header row, or JSON Lines. Each lead keeps
// the line it started on, so a rejection can point at the file.

import { CsvError, parse, type Info } from 'csv-parse/sync';

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
  return format === 'csv' ? parseCsvLeads(text) : parseJsonLines(text.replace(/^\uFEFF/, ''));
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

/**
 * RFC 4180 rows (csv-parse): quoted fields may hold separators, quotes ("") and line breaks;
 * CRLF or LF line ends; a UTF-8 BOM is dropped. The separator is `,`, `;` or tab, whichever
 * the header line holds most of (spreadsheets in many locales save `;`). Each row keeps the
 * line it starts on; blank lines are skipped.
 */
export function parseCsvRows(text: string): Array<{ line: number; cells: string[] }> {
  const bytes = Buffer.from(text, 'utf8');
  const lineAt = lineCounter(bytes);
  let records: Array<{ record: string[]; info: Info }>;
  try {
    // `info: true` gives each record with its Info, which the typings do not model.
    records = parse(bytes, {
      bom: true,
      delimiter: detectDelimiter(text),
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      // A quote inside an unquoted cell is kept as written (only a cell that opens with one is quoted).
      relax_quotes: true,
      info: true,
    }) as unknown as typeof records;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    // bytes_records: where the last complete row ended, so where the bad one starts.
    const line = lineAt(Number(err.bytes_records ?? 0));
    throw new ImportFileError(err.code === 'CSV_QUOTE_NOT_CLOSED' ? `line ${line}: a quoted field is not closed` : `line ${line}: ${err.message}`);
  }
  const rows: Array<{ line: number; cells: string[] }> = [];
  let start = 0;
  for (const { record, info } of records) {
    if (record.length > 1 || record[0] !== '') rows.push({ line: lineAt(start), cells: record });
    start = info.bytes;
  }
  return rows;
}

export type CsvDelimiter = ',' | ';' | '\t';
/** In order of preference on a tie. */
const DELIMITERS: readonly CsvDelimiter[] = [',', ';', '\t'];

/** The separator the header line (outside quotes) holds most of; `,` when it holds none. */
export function detectDelimiter(text: string): CsvDelimiter {
  const header = (text.split('\n', 1)[0] ?? '').replace(/"[^"]*"/g, '');
  const count = (c: CsvDelimiter) => header.split(c).length - 1;
  return DELIMITERS.reduce((best, c) => (count(c) > count(best) ? c : best));
}

/** The 1-based line of a byte offset, for offsets asked in increasing order. */
function lineCounter(bytes: Buffer): (offset: number) => number {
  let seen = 0;
  let line = 1;
  return (offset) => {
    for (; seen < offset; seen++) if (bytes[seen] === 0x0a) line += 1;
    return line;
  };
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
