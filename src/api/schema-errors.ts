// The one place Ajv's errors become SPEC's field-naming messages (the registry's INVALID_FIELD).
import { ApiError, PATTERN_MESSAGES } from '../core/index.js';

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

/** The field at fault and the rule it breaks, in SPEC's words. */
function describeSchemaError(err: SchemaError, dataVar: string): { field: string; rule: string } {
  const p = err.params;
  if (err.keyword === 'required') {
    // Inside an array's item, named with its path: "instances[2].instance_id".
    const parent = err.instancePath === '' ? '' : `${fieldName(err.instancePath, dataVar)}.`;
    return { field: `${parent}${String(p['missingProperty'])}`, rule: 'is required' };
  }
  const field = fieldName(err.instancePath, dataVar);
  if (err.keyword === 'uniqueItems') {
    // Named after the later index: "instance_ids[2]: duplicate of instance_ids[0]".
    const [a, b] = [Number(p['i']), Number(p['j'])].sort((x, y) => x - y);
    return { field: `${field}[${String(b)}]`, rule: `duplicate of ${field}[${String(a)}]` };
  }
  return { field, rule: ruleOf(err, field) };
}

function ruleOf(err: SchemaError, field: string): string {
  const p = err.params;
  switch (err.keyword) {
    case 'type': {
      const t = Array.isArray(p['type']) ? String(p['type'][0]) : String(p['type']);
      return `must be ${TYPE_NAMES[t] ?? t}`;
    }
    case 'pattern':
      return PATTERN_MESSAGES[lastKey(field)] ?? 'has a character that is not allowed';
    case 'not':
      return 'must not be only spaces';
    case 'enum':
      return `must be one of ${(p['allowedValues'] as unknown[]).join(', ')}`;
    case 'minLength':
      return `must not be shorter than ${String(p['limit'])} character(s)`;
    case 'maxLength':
      return `must not be longer than ${String(p['limit'])} ${field === 'command' ? 'bytes' : 'characters'}`;
    case 'minItems':
      return `must hold at least ${String(p['limit'])} item(s)`;
    case 'maxItems':
      return `must hold at most ${String(p['limit'])} items`;
    case 'minimum':
      return `must be at least ${String(p['limit'])}`;
    case 'maximum':
      return `must be at most ${String(p['limit'])}`;
    default:
      return 'is not valid';
  }
}

/** Fastify's schemaErrorFormatter: the first failed rule becomes an ApiError. */
export function schemaErrorFormatter(errors: readonly SchemaError[], dataVar: string): Error {
  const first = errors[0];
  return new ApiError('INVALID_FIELD', first ? describeSchemaError(first, dataVar) : { field: dataVar, rule: 'is not valid' });
}
