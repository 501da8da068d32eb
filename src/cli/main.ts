// adbfleet's command line: serve, demo, sim, admin, and the tenant commands (run, task, ...).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAdminCommand } from './admin.js';
import { registerDemoCommand } from './demo.js';
import { registerServeCommand } from './serve.js';
import { registerSimCommand } from './sim.js';
import { registerTenantCommands } from './tenant/index.js';

// src/cli/main.ts and dist/cli/main.js both sit two levels below package.json.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('adbfleet')
  .description('self-hostable cloud-phone control plane (KooPhone-compatible API over ADB)')
  .version(version)
  .showHelpAfterError();
registerServeCommand(program);
registerDemoCommand(program);
registerSimCommand(program);
registerAdminCommand(program);
registerTenantCommands(program);

/** What a tool killed by SIGPIPE exits with (128 + 13), as `cat` or `git` would under a shell. */
const BROKEN_PIPE = 141;
// A reader that stops early (`adbfleet tasks | head -1`) closes the pipe: Node ignores SIGPIPE and
// reports EPIPE as a stream error, which unhandled would end the process with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write(`adbfleet: cannot write the output: ${err.message}\n`);
  process.exit(err.code === 'EPIPE' ? BROKEN_PIPE : 1);
});

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`adbfleet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
