// The metrics the service exposes (src/cli/metrics.ts) against what docs/OPERATIONS.md says of
// them: every adbfleet_ metric in its table exists with that type and those labels, and the table
// lists every one there is. And two services in one process both show the process metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServiceMetrics } from '../../src/cli/metrics.js';
import { parseExposition, type Exposition } from '../support/index.js';

interface Documented {
  type: string;
  labels: string[];
}

/** The rows of the Metrics section's table: | `name` | type | `label`, `label` | what |. */
function documentedMetrics(): Map<string, Documented> {
  const doc = readFileSync('docs/OPERATIONS.md', 'utf8');
  const section = /^## Metrics\n([\s\S]*?)^## /m.exec(doc)?.[1];
  assert.ok(section !== undefined, 'OPERATIONS.md has a Metrics section');
  const rows = new Map<string, Documented>();
  for (const line of section.split('\n')) {
    const cells = /^\| `(adbfleet_\w+)` \| (\w+) \|([^|]*)\|/.exec(line);
    if (cells === null) continue;
    const labels = [...cells[3]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    assert.ok(!rows.has(cells[1]!), `${cells[1]} is listed twice`);
    rows.set(cells[1]!, { type: cells[2]!, labels });
  }
  return rows;
}

/** The labels a family's samples carry (a histogram's `le` is its own). */
function labelsOf(exposition: Exposition, family: string): string[] {
  const names = new Set<string>();
  for (const s of exposition.samples) {
    if (s.name !== family && !s.name.startsWith(`${family}_`)) continue;
    for (const label of Object.keys(s.labels)) if (label !== 'le') names.add(label);
  }
  return [...names].sort();
}

test('OPERATIONS.md lists exactly the adbfleet_ metrics there are, with their types and labels', async () => {
  const metrics = createServiceMetrics();
  try {
    // A labelled counter shows no sample, so no label, until it is first counted.
    metrics.submitted('/v1/instances/async-command', 'tenant-a');
    metrics.responded('/v1/instances/async-command', 'POST', 200);
    const exposition = parseExposition(await metrics.render());
    const served = [...exposition.families].filter(([name]) => name.startsWith('adbfleet_'));
    const documented = documentedMetrics();
    assert.deepEqual(
      served.map(([name]) => name).sort(),
      [...documented.keys()].sort(),
      'the metrics served and the metrics OPERATIONS.md lists',
    );
    for (const [name, { type }] of served) {
      const doc = documented.get(name)!;
      assert.equal(doc.type, type, `${name}'s type`);
      assert.deepEqual([...doc.labels].sort(), labelsOf(exposition, name), `${name}'s labels`);
    }
  } finally {
    metrics.close();
  }
});

test('the default metrics OPERATIONS.md names are served, by every service of the process', async () => {
  const doc = readFileSync('docs/OPERATIONS.md', 'utf8');
  const named = /default metrics come too, under their usual names: ([^\n]*\n[^\n]*\n[^\n]*)/.exec(doc)?.[1] ?? '';
  const defaults = [...named.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
  assert.ok(defaults.length >= 4, named);
  const first = createServiceMetrics();
  const second = createServiceMetrics();
  try {
    for (const metrics of [first, second]) {
      const families = parseExposition(await metrics.render()).families;
      for (const name of defaults) assert.ok(families.has(name), `${name} served`);
    }
  } finally {
    first.close();
    second.close();
  }
});
