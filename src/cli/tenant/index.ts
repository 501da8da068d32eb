// The tenant's command line (SPEC §12): run, task, tasks, instances, output, cancel, and the device
// operations (install, uninstall, push, pull, screenshot), each a client of the tenant API through
// the typed client (docs/CLI.md).
import type { Command } from 'commander';
import { registerDownloadCommands } from './downloads.js';
import { registerOperationCommands } from './operations.js';
import { registerRunCommand } from './run.js';
import { registerTaskCommands } from './task-commands.js';

export function registerTenantCommands(program: Command): void {
  registerRunCommand(program);
  registerTaskCommands(program);
  registerOperationCommands(program);
  registerDownloadCommands(program);
}
