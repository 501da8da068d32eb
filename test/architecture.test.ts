// ARCHITECTURE.md's module rules, checked on the source: imports flow one way between the layer
// folders, and a folder is entered only through its index.ts (the simulator enters src/adb only
// through the wire format's own face, adb/wire/index.ts, and takes nothing else of src/adb).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');
const MAY_IMPORT: Record<string, readonly string[]> = {
  cli: ['api', 'tasks', 'dispatch', 'store', 'core', 'adb', 'sim'],
  api: ['tasks', 'store', 'core'],
  tasks: ['store', 'core'],
  dispatch: ['store', 'core', 'adb'],
  store: ['core'],
  core: [],
  adb: [],
  sim: ['adb'],
};
/** The one door into another folder: its index.ts, except sim -> adb, whose door is the wire format's. */
function face(from: string, to: string): string {
  return from === 'sim' && to === 'adb' ? 'adb/wire/index.ts' : `${to}/index.ts`;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'/g;

test('every layer folder is one ARCHITECTURE.md names', () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  assert.deepEqual(folders.sort(), Object.keys(MAY_IMPORT).sort());
  // cli is the top: nothing imports it, its entry point is main.ts.
  for (const f of folders.filter((f) => f !== 'cli')) {
    assert.ok(statSync(join(SRC, f, 'index.ts')).isFile(), `src/${f}/index.ts is its public face`);
  }
});

test('imports flow one way and enter another folder only through its index.ts', () => {
  const problems: string[] = [];
  for (const file of sources(SRC)) {
    const from = relative(SRC, file).split('/')[0]!;
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
      const to = target.split('/')[0]!;
      if (to === from) continue;
      const where = `${relative('.', file)} imports ${m[1]}`;
      if (!MAY_IMPORT[from]?.includes(to)) problems.push(`${where}: ${from} may not import ${to}`);
      else if (target !== face(from, to)) problems.push(`${where}: not through ${face(from, to)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the ADB wire format stands alone: adb/wire imports nothing else of src', () => {
  const problems: string[] = [];
  const wire = join(SRC, 'adb', 'wire');
  for (const file of sources(wire)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1]!);
      if (relative(wire, target).startsWith('..')) problems.push(`${relative('.', file)} imports ${m[1]}`);
    }
  }
  assert.deepEqual(problems, []);
});
