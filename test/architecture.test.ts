// ARCHITECTURE.md's module rules, checked on the source: imports flow one way between the layer
// folders, and a folder is entered only through its index.ts (the simulator enters src/adb only
// through the wire format's own face, adb/wire/index.ts, and takes nothing else of src/adb).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');
const MAY_IMPORT: Record<string, readonly string[]> = {
  cli: ['api', 'tasks', 'dispatch', 'artifacts', 'store', 'core', 'adb', 'sim', 'client'],
  api: ['tasks', 'artifacts', 'store', 'core'],
  tasks: ['store', 'core'],
  dispatch: ['artifacts', 'store', 'core', 'adb'],
  // The files behind artifacts (uploads, fetched packages, pulled files): the API writes them, the worker reads and writes them.
  artifacts: ['core'],
  store: ['core'],
  core: [],
  adb: [],
  // core for the APK reader `pm install` shares with the service (core/apk.ts).
  sim: ['adb', 'core'],
  // The typed HTTP client: bundled into browsers and used by third parties, so it stands alone.
  client: [],
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

/** Relative imports of each file under src (type-only ones too: a cycle of types is still a knot). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const targets = [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) =>
      relative('.', resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))),
    );
    graph.set(relative('.', file), targets);
  }
  return graph;
}

/**
 * No file may reach itself through its imports (a lint rule would need a plugin; the graph is here).
 * The cycles a depth-first walk closes (at least one in every knot, so none means none), each
 * written from its smallest name: "a -> b -> a".
 */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles = new Set<string>();
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (node: string): void => {
    if (onPath.has(node)) {
      const loop = path.slice(path.indexOf(node));
      const start = loop.indexOf([...loop].sort()[0]!);
      const rotated = [...loop.slice(start), ...loop.slice(0, start)];
      cycles.add([...rotated, rotated[0]].join(' -> '));
      return;
    }
    if (done.has(node)) return;
    path.push(node);
    onPath.add(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    onPath.delete(node);
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) visit(node);
  return [...cycles].sort();
}

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

test('the cycle check finds a cycle and names it', () => {
  const graph = new Map([
    ['c.ts', ['a.ts']],
    ['a.ts', ['b.ts', 'd.ts']],
    ['b.ts', ['c.ts']],
    ['d.ts', ['d.ts']],
    ['e.ts', ['a.ts']],
  ]);
  assert.deepEqual(findCycles(graph), ['a.ts -> b.ts -> c.ts -> a.ts', 'd.ts -> d.ts']);
  assert.deepEqual(findCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]])), []);
});

test('the web console enters src only through the typed client (src/client/index.ts)', () => {
  const problems: string[] = [];
  const root = resolve('console/src');
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(p) ? [p] : [];
    });
  for (const file of files(root)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1]!);
      if (relative(root, target).startsWith('..') && relative(SRC, target).replace(/\.js$/, '.ts') !== 'client/index.ts') {
        problems.push(`${relative('.', file)} imports ${m[1]}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('no import cycles among src files', () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, 'the graph holds the source files');
  assert.deepEqual(findCycles(graph), [], 'import cycles');
});
