/**
 * Registers the lead search attributes on a Temporal namespace, for dev servers
 * started here and for tests that run their own.
 */
import type { Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS: a named ESM import of `temporal` fails under
// plain Node, so take the module object and destructure it.
import proto from '@temporalio/proto';
import type { temporal as protoTypes } from '@temporalio/proto';
import { LEAD_SEARCH_ATTRIBUTES, type SearchAttributeKind } from '../../src/temporal/search-attributes.js';
import { GRPC_ALREADY_EXISTS, grpcCode } from '../../src/temporal/protocol.js';

const { temporal } = proto;
type IndexedValueType = protoTypes.api.enums.v1.IndexedValueType;
const IVT = temporal.api.enums.v1.IndexedValueType;

export const INDEXED_VALUE_TYPES: Record<SearchAttributeKind, IndexedValueType> = {
  Text: IVT.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IVT.INDEXED_VALUE_TYPE_INT,
  Double: IVT.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IVT.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IVT.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

type Wanted = ReadonlyArray<readonly [string, IndexedValueType]>;

/**
 * Registers the given custom search attributes on `namespace` if they are not
 * there yet. `start-dev --search-attribute` only takes effect when the
 * namespace is created, so a server restarted on an existing `--db-filename`
 * needs this. Idempotent; tolerates concurrent callers adding the same names.
 * Throws if an attribute already exists with a different type.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  attrs: Readonly<Record<string, SearchAttributeKind>> = LEAD_SEARCH_ATTRIBUTES,
): Promise<void> {
  const wanted = Object.entries(attrs).map(([name, kind]) => [name, INDEXED_VALUE_TYPES[kind]] as const);

  // A couple of rounds cover the race where another process adds a subset.
  for (let attempt = 0; attempt < 5; attempt++) {
    const toAdd = await missingAttributes(connection, namespace, wanted);
    if (Object.keys(toAdd).length === 0) return;
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: toAdd });
    } catch (err) {
      if (grpcCode(err) !== GRPC_ALREADY_EXISTS) throw err;
      // Someone else registered (some of) them concurrently: re-check.
    }
  }
  const left = await missingAttributes(connection, namespace, wanted);
  if (Object.keys(left).length > 0) {
    throw new Error(`could not register search attributes ${Object.keys(left).join(', ')} in namespace ${namespace}`);
  }
}

/** The wanted attributes the namespace lacks; throws on one registered with another type. */
async function missingAttributes(
  connection: Connection,
  namespace: string,
  wanted: Wanted,
): Promise<Record<string, IndexedValueType>> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  const existing: Record<string, IndexedValueType> = { ...res.systemAttributes, ...res.customAttributes };
  const out: Record<string, IndexedValueType> = {};
  for (const [name, type] of wanted) {
    const have = existing[name];
    if (have === undefined) out[name] = type;
    else if (have !== type) {
      throw new Error(
        `search attribute ${name} exists in namespace ${namespace} as ${IVT[have]}, expected ${IVT[type]}`,
      );
    }
  }
  return out;
}
