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

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`adbfleet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
