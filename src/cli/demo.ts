// `adbfleet demo` (what `npm start` runs): the service plus a simulated fleet registered to a
// demo tenant that is created once and reused, so curl commands keep working across restarts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { hashToken, newTenantToken } from '../core/index.js';
import type { Store } from '../store/index.js';
import { startFleet } from '../sim/index.js';
import { parsePort } from './config.js';
import { configFromFlags, type ServiceFlags } from './serve.js';

interface DemoFlags extends ServiceFlags {
  instances: number;
  simBasePort: number;
}

const DEMO_TENANT_NAME = 'demo';

/** Finds or creates the demo tenant and a live token for it, kept in <data>/demo-token. */
async function demoToken(store: Store, dataDir: string): Promise<{ tenantId: string; token: string }> {
  const tokenFile = join(dataDir, 'demo-token');
  if (existsSync(tokenFile)) {
    const token = readFileSync(tokenFile, 'utf8').trim();
    const principal = await store.findToken(hashToken(token));
    if (principal !== null) return { tenantId: principal.tenantId, token };
  }
  const existing = (await store.listTenants()).find((t) => t.name === DEMO_TENANT_NAME);
  const tenant = existing ?? (await store.createTenant(DEMO_TENANT_NAME));
  const { token, hash, prefix } = newTenantToken();
  await store.addToken(tenant.tenantId, hash, prefix);
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  return { tenantId: tenant.tenantId, token };
}

function instanceCount(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`--instances must be an integer from 1 to 10000, got "${raw}"`);
  return n;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the service with a simulated fleet registered to a demo tenant')
    .option('--host <host>', 'listen address (ADBFLEET_HOST)')
    .option('--port <port>', 'listen port (ADBFLEET_PORT)', parsePort)
    .option('--data <dir>', 'data directory (ADBFLEET_DATA)')
    .option('--instances <n>', 'simulated instances', instanceCount, 8)
    .option('--sim-base-port <port>', 'first port of the simulated instances', parsePort, 20000)
    .action(async (flags: DemoFlags) => {
      const config = configFromFlags(flags);
      // Loaded here, not at the top: `adbfleet sim` and `admin` need none of the service's modules.
      const { closeOnSignals, createLogger, startService } = await import('./service.js');
      const logger = createLogger(config);
      if (flags.simBasePort !== 0 && flags.simBasePort + flags.instances - 1 > 65535) {
        throw new Error(`--sim-base-port ${flags.simBasePort} leaves no room for ${flags.instances} instances below port 65536`);
      }
      const fleet = await startFleet({ count: flags.instances, basePort: flags.simBasePort, host: '127.0.0.1' });
      const service = await startService(config, logger);
      const { tenantId } = await demoToken(service.store, config.dataDir);
      const ids: string[] = [];
      for (const [i, sim] of fleet.instances.entries()) {
        const instanceId = `demo-${String(i + 1).padStart(3, '0')}`;
        ids.push(instanceId);
        const instance = { instanceId, adbAddress: sim.address, instanceName: `Demo phone ${i + 1}`, zone: 'local', tenantId };
        // Registered by an earlier run: keep it if it still points at this fleet, else re-register.
        const existing = await service.store.getInstance(instanceId);
        if (existing !== null && existing.adbAddress === sim.address) {
          await service.store.assignInstance(instanceId, tenantId);
        } else {
          if (existing !== null) await service.store.deleteInstance(instanceId);
          await service.store.createInstance(instance);
        }
      }
      const body = JSON.stringify({ command: 'ls -l /system', instance_ids: ids.slice(0, 2) });
      process.stdout.write(
        [
          '',
          `adbfleet demo ready at ${service.url}`,
          `  ${fleet.instances.length} simulated instances (${ids[0]} .. ${ids[ids.length - 1]}), tenant ${tenantId}`,
          `  tenant token in ${join(config.dataDir, 'demo-token')}, admin token ${config.adminToken === null ? `in ${join(config.dataDir, 'admin-token')}` : 'from ADBFLEET_ADMIN_TOKEN'}`,
          '',
          'Try:',
          `  curl -s -X POST ${service.url}/v1/instances/async-command \\`,
          `    -H "X-Auth-Token: $(cat ${join(config.dataDir, 'demo-token')})" -H "x-request-id: $(date +%s%N)" \\`,
          `    -H 'content-type: application/json' -d '${body}'`,
          'or, from the command line (docs/CLI.md):',
          `  ADBFLEET_URL=${service.url} ADBFLEET_TOKEN=$(cat ${join(config.dataDir, 'demo-token')}) npx adbfleet run "ls -l /system" --all --wait`,
          `or in a browser: ${service.url}/console (sign in with the tenant token); the API reference: ${service.url}/docs`,
          '',
        ].join('\n'),
      );
      closeOnSignals(async () => {
        await service.close();
        await fleet.close();
      }, logger);
    });
}
