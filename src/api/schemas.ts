// Route schemas (compiled by Fastify at start) and the one place Ajv's errors become SPEC's
// field-naming messages.
import { ApiError, PATTERN_MESSAGES } from '../core/index.js';

export {
  ASYNC_COMMAND_BODY,
  SYNC_COMMAND_BODY,
  INSTANCE_IDS_BODY,
} from '../core/index.js';

export const TENANT_BODY = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 } },
};

export const INSTANCE_BODY = {
  type: 'object',
  required: ['instance_id', 'adb_address'],
  properties: {
    instance_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
    adb_address: { type: 'string', minLength: 1, maxLength: 300 },
    instance_name: { type: 'string', minLength: 1, maxLength: 128 },
    zone: { type: 'string', minLength: 1, maxLength: 64 },
    tenant_id: { type: 'string', nullable: true, minLength: 1, maxLength: 64 },
  },
};

export const ASSIGN_BODY = {
  type: 'object',
  required: ['tenant_id'],
  properties: { tenant_id: { type: 'string', nullable: true, minLength: 1, maxLength: 64 } },
};

/** The subset of an Ajv error this formatter reads. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a JSON object',
  array: 'an array',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
};

/** "/instance_ids/3" -> "instance_ids[3]"; the root is named after the part of the request. */
function fieldName(path: string, dataVar: string): string {
  if (path === '') return dataVar === 'querystring' ? 'query' : dataVar;
  let out = '';
  for (const seg of path.split('/').slice(1)) {
    const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^[0-9]+$/.test(s) ? `[${s}]` : out === '' ? s : `.${s}`;
  }
  return out;
}

function lastKey(field: string): string {
  return field.replace(/\[[0-9]+\]$/, '').split('.').pop() ?? field;
}

export function describeSchemaError(err: SchemaError, dataVar: string): string {
  const p = err.params;
  if (err.keyword === 'required') return `${String(p['missingProperty'])}: is required`;
  const field = fieldName(err.instancePath, dataVar);
  switch (err.keyword) {
    case 'type': {
      const t = Array.isArray(p['type']) ? String(p['type'][0]) : String(p['type']);
      return `${field}: must be ${TYPE_NAMES[t] ?? t}`;
    }
    case 'pattern':
      return `${field}: ${PATTERN_MESSAGES[lastKey(field)] ?? 'has a character that is not allowed'}`;
    case 'not':
      return `${field}: must not be only spaces`;
    case 'minLength':
      return `${field}: must not be shorter than ${String(p['limit'])} character(s)`;
    case 'maxLength':
      return `${field}: must not be longer than ${String(p['limit'])} ${field === 'command' ? 'bytes' : 'characters'}`;
    case 'minItems':
      return `${field}: must hold at least ${String(p['limit'])} item(s)`;
    case 'maxItems':
      return `${field}: must hold at most ${String(p['limit'])} items`;
    case 'uniqueItems': {
      const [a, b] = [Number(p['i']), Number(p['j'])].sort((x, y) => x - y);
      return `${field}[${String(b)}]: duplicate of ${field}[${String(a)}]`;
    }
    case 'minimum':
      return `${field}: must be at least ${String(p['limit'])}`;
    case 'maximum':
      return `${field}: must be at most ${String(p['limit'])}`;
    default:
      return `${field}: is not valid`;
  }
}

/** Fastify's schemaErrorFormatter: the first failed rule becomes an ApiError. */
export function schemaErrorFormatter(errors: readonly SchemaError[], dataVar: string): Error {
  const first = errors[0];
  return new ApiError('INVALID_REQUEST', first ? describeSchemaError(first, dataVar) : `${dataVar}: is not valid`);
}
