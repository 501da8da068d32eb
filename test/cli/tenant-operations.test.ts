// The device operation commands as a user runs them: the real `adbfleet` process against a live
// service with a simulated fleet. Files go up streamed and come back byte for byte.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { aaptSkip, buildApk, runCli, startServiceHarness, type CliResult, type JobJson, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness;
let env: Record<string, string>;
let dir: string;

before(async () => {
  h = await startServiceHarness({ instances: 3 });
  env = { ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token };
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-cli-ops-'));
});
after(async () => {
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Waited {
  tasks: { task_id: string; jobs: JobJson[] }[];
}

/** A refusal: exit 2, nothing on stdout, one line on stderr. */
function assertRefused(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^adbfleet: [^\n]*\n$/);
  assert.match(r.stderr, pattern);
}

test('install APK --wait: uploaded, installed on each instance, and pm lists it (run --wait --json)', { skip: aaptSkip }, async () => {
  const apk = await buildApk({ packageName: 'org.adbfleet.cliops', versionCode: 12, versionName: '1.2' });
  try {
    const r = await cli('install', apk, '--instances', 'e2e-0,e2e-2', '--wait');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^e2e-0\s+succeeded\s/m);
    assert.match(r.stdout, /^e2e-2\s+succeeded\s/m);
    assert.match(r.stdout, /^2 jobs: 2 succeeded \(task ZGCA[0-9a-f]{28}\)$/m);
    assert.match(r.stderr, /^installing org\.adbfleet\.cliops 1\.2 \(version code 12, \d+ bytes, artifact [0-9a-f]{32}\)\n$/);

    const listed = await cli('run', 'pm list packages org.adbfleet', '--all', '--wait', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const jobs = (JSON.parse(listed.stdout) as Waited).tasks.flatMap((t) => t.jobs);
    const has = jobs.map((j) => [j.instance_id, /^package:org\.adbfleet\.cliops$/m.test(j.execute_msg)]);
    assert.deepEqual(has, [['e2e-0', true], ['e2e-1', false], ['e2e-2', true]]);

    // --wait --json: each task has what it installs, as without --wait.
    const again = await cli('install', apk, '--instances', 'e2e-1', '--wait', '--json');
    assert.equal(again.code, 0, again.stderr);
    const [waited] = (JSON.parse(again.stdout) as { tasks: ({ artifact_id: string; package: { name: string; version_code: number } } & Waited['tasks'][number])[] }).tasks;
    assert.deepEqual(Object.keys(waited!), ['task_id', 'artifact_id', 'package', 'jobs']);
    assert.match(waited!.artifact_id, /^[0-9a-f]{32}$/);
    assert.deepEqual([waited!.package.name, waited!.package.version_code], ['org.adbfleet.cliops', 12]);
    assert.deepEqual(waited!.jobs.map((j) => [j.instance_id, j.state]), [['e2e-1', 'succeeded']]);

    // Without --wait, --json: the API's answer, with what it installs.
    const un = await cli('uninstall', 'org.adbfleet.cliops', '--instances', 'e2e-2', '--json');
    assert.equal(un.code, 0, un.stderr);
    const [task] = (JSON.parse(un.stdout) as { tasks: { task_id: string; cmd_jobs: { instance_id: string }[] }[] }).tasks;
    assert.deepEqual(task!.cmd_jobs.map((j) => j.instance_id), ['e2e-2']);
    assert.deepEqual((await h.waitTask(task!.task_id)).map((j) => j.state), ['succeeded']);
    const after = await cli('run', 'pm list packages org.adbfleet', '--instances', 'e2e-2', '--wait', '--json');
    assert.doesNotMatch(after.stdout, /cliops/);
  } finally {
    await rm(dirname(dirname(apk)), { recursive: true, force: true });
  }
});

test('push a file, pull it back: DIR/<instance>/<name>, byte-identical', async () => {
  const local = join(dir, 'payload.bin');
  const bytes = randomBytes(1024 * 1024 + 3);
  await writeFile(local, bytes);
  const pushed = await cli('push', local, '/sdcard/cli-ops/payload.bin', '--all', '--mode', '0600', '--wait');
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.match(pushed.stdout, /^3 jobs: 3 succeeded /m);

  const out = join(dir, 'pulled');
  const pulled = await cli('pull', '/sdcard/cli-ops/payload.bin', '--instances', 'e2e-0,e2e-1', '--out', out);
  assert.equal(pulled.code, 0, pulled.stderr);
  for (const id of ['e2e-0', 'e2e-1']) {
    const path = join(out, id, 'payload.bin');
    assert.ok(pulled.stdout.split('\n').some((l) => /^(\S+)\s+succeeded\s+(\d+)\s+(.*)$/.exec(l)?.slice(1).join(' ') === `${id} ${bytes.length} ${path}`), pulled.stdout);
    assert.ok((await readFile(path)).equals(bytes), `${path} is the pushed file`);
  }
  assert.deepEqual((await readdir(out)).sort(), ['e2e-0', 'e2e-1'], 'nothing else written (no .part left)');
});

test('pull of a missing file: that job fails, the others are saved, exit 1', async () => {
  const local = join(dir, 'only-one.bin');
  await writeFile(local, 'one instance has it\n');
  assert.equal((await cli('push', local, '/sdcard/only-one.bin', '--instances', 'e2e-1', '--wait')).code, 0);
  const out = join(dir, 'partial');
  const r = await cli('pull', '/sdcard/only-one.bin', '--instances', 'e2e-0,e2e-1', '--out', out, '--json');
  assert.equal(r.code, 1, r.stderr);
  const { tasks, files } = JSON.parse(r.stdout) as Waited & { files: { instance_id: string; path: string; bytes: number }[] };
  assert.deepEqual(tasks[0]!.jobs.map((j) => j.state), ['failed', 'succeeded']);
  assert.deepEqual(files.map((f) => [f.instance_id, f.path]), [['e2e-1', join(out, 'e2e-1', 'only-one.bin')]]);
  assert.deepEqual(await readdir(out), ['e2e-1']);

  const text = await cli('pull', '/sdcard/only-one.bin', '--instances', 'e2e-0', '--out', out);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /^e2e-0\s+failed\s+-\s+\S.*only-one\.bin/m, 'a failed job shows why');
});

test('screenshot --all: a PNG per instance in --out', async () => {
  const out = join(dir, 'shots');
  const r = await cli('screenshot', '--all', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^3 jobs: 3 succeeded /m);
  assert.deepEqual((await readdir(out)).sort(), ['e2e-0.png', 'e2e-1.png', 'e2e-2.png']);
  for (const name of await readdir(out)) {
    const png = await readFile(join(out, name));
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), `${name} starts with the PNG signature`);
  }
});

test('a file that cannot be saved: one line naming the instance, task, job and path, exit 2', async () => {
  const notDir = join(dir, 'plain-file.txt');
  await writeFile(notDir, 'a file where --out wants a directory\n');
  const shot = await cli('screenshot', '--instances', 'e2e-0', '--out', notDir);
  assertRefused(shot, new RegExp(`^adbfleet: instance e2e-0 \\(task [0-9a-f]{32}, job [0-9a-f]{32}\\): saving its file to ${notDir}/e2e-0\\.png: \\w+: `));

  // DIR/<instance> is a file: the pull's directory cannot be made.
  const local = join(dir, 'to-pull.txt');
  await writeFile(local, 'x\n');
  assert.equal((await cli('push', local, '/sdcard/to-pull.txt', '--instances', 'e2e-1', '--wait')).code, 0);
  const out = join(dir, 'ro');
  await mkdir(out);
  await writeFile(join(out, 'e2e-1'), 'in the way\n');
  const pulled = await cli('pull', '/sdcard/to-pull.txt', '--instances', 'e2e-1', '--out', out);
  assertRefused(pulled, new RegExp(`^adbfleet: instance e2e-1 \\(task \\w{32}, job [0-9a-f]{32}\\): saving its file to ${out}/e2e-1/to-pull\\.txt: \\w+: `));
});

test('refusals: one line, exit 2, naming the field, the file or the option', async () => {
  await writeFile(join(dir, 'payload.bin'), 'x');
  assertRefused(await cli('pull', '/sdcard/../etc/hosts', '--instances', 'e2e-0'), /path: must not contain a \.\. segment/);
  assertRefused(await cli('push', join(dir, 'payload.bin'), 'relative/path', '--instances', 'e2e-0'), /path: /);
  assertRefused(await cli('uninstall', 'not a package', '--instances', 'e2e-0'), /package_name/);
  assertRefused(await cli('push', join(dir, 'absent.bin'), '/sdcard/x', '--instances', 'e2e-0'), /absent\.bin: no such file/);
  assertRefused(await cli('install', '--instances', 'e2e-0'), /give either an APK file or --package-url URL/);
  assertRefused(await cli('install', '--package-url', 'https://example.com/a.apk', '--instances', 'e2e-0'), /install_package_url: the operator has not allowed fetching URLs/);
  assertRefused(await cli('screenshot', '--instances', 'nope-9'), /nope-9/);
  const mode = await cli('push', join(dir, 'payload.bin'), '/sdcard/x', '--instances', 'e2e-0', '--mode', '999');
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--mode <octal>.*must be 3 or 4 octal digits/);
});
