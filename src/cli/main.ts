// adbfleet's command line: serve, demo, sim, admin.
import { Command } from 'commander';
import { registerAdminCommand } from './admin.js';
import { registerDemoCommand } from './demo.js';
import { registerServeCommand } from './serve.js';
import { registerSimCommand } from './sim.js';

const program = new Command('adbfleet')
  .description('self-hostable cloud-phone control plane (KooPhone-compatible API over ADB)')
  .showHelpAfterError();
registerServeCommand(program);
registerDemoCommand(program);
registerSimCommand(program);
registerAdminCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`adbfleet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
