// The instance lists `adbfleet admin instance import` reads: JSON (an array, or one object per
// line) or CSV lines `instance_id,adb_address[,tenant_id[,zone[,instance_name]]]`. Entries go to
// the bulk endpoint as written; the service checks every field, so only the shape is checked here.
import type { InstanceEntry } from '../client/index.js';

const CSV_FIELDS = ['instance_id', 'adb_address', 'tenant_id', 'zone', 'instance_name'] as const;

/** JSON when the text starts with `[` or `{`, CSV otherwise. Throws naming the file and line. */
export function parseInstances(text: string, source: string): InstanceEntry[] {
  const start = text.trimStart()[0];
  if (start === '[') return jsonArray(text, source);
  if (start === '{') return jsonLines(text, source);
  return csv(text, source);
}

function jsonArray(text: string, source: string): InstanceEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(value)) throw new Error(`${source}: expected a JSON array of instances`);
  return value.map((v: unknown, i) => entry(v, `${source}: entry ${i}`));
}

function jsonLines(text: string, source: string): InstanceEntry[] {
  const out: InstanceEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${source}:${i + 1}: not a JSON object: ${(e as Error).message}`, { cause: e });
    }
    out.push(entry(value, `${source}:${i + 1}`));
  }
  return out;
}

function entry(value: unknown, where: string): InstanceEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object`);
  return value as InstanceEntry;
}

/** Blank lines, `#` comments and a header line starting with `instance_id` are skipped; no quoting
 * (no field of an instance needs a comma), empty optional fields are left out. */
function csv(text: string, source: string): InstanceEntry[] {
  const out: InstanceEntry[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || (out.length === 0 && line.startsWith('instance_id,'))) continue;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 2 || cells.length > CSV_FIELDS.length) {
      throw new Error(`${source}:${i + 1}: expected instance_id,adb_address[,tenant_id[,zone[,instance_name]]], got ${cells.length} field(s)`);
    }
    const e: Record<string, string> = {};
    for (const [n, cell] of cells.entries()) if (cell !== '' || n < 2) e[CSV_FIELDS[n]!] = cell;
    out.push(e as unknown as InstanceEntry);
  }
  return out;
}
