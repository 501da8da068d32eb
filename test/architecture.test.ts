// ARCHITECTURE.md's module rules, checked on the source: imports flow one way between the layer
// folders, and a folder is entered only through its index.ts (the simulator may take the ADB
// wire formats, packet.ts and android-key.ts, and nothing else of src/adb).
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
const SIM_MAY_TAKE_FROM_ADB = new Set(['adb/packet.ts', 'adb/android-key.ts']);

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
      else if (from === 'sim' ? !SIM_MAY_TAKE_FROM_ADB.has(target) : target !== `${to}/index.ts`) {
        problems.push(`${where}: not through ${to}/index.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
