// `adbfleet sim`: runs a fleet of simulated phones until SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseAndroidPublicKey } from '../adb/index.js';
import { DEFAULT_REBOOT_DELAY_MS, startControlServer, startFleet } from '../sim/index.js';

function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

interface SimOptions {
  count: number;
  basePort: number;
  host: string;
  auth: 'none' | 'rsa';
  controlPort?: number;
  rebootDelayMs: number;
  trustKey: string[];
  features?: string;
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run simulated Android instances (an adbd each) until interrupted')
    .option('--count <n>', 'number of instances', intArg(1, 60000), 1)
    // 5555-5585 is where the adb server looks for emulators: stay clear of it by default.
    .option('--base-port <port>', 'first port (instance i gets port + i); 0 for ephemeral ports', intArg(0, 65535), 7000)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--auth <mode>', 'adb authentication').choices(['none', 'rsa']).default('none'))
    .option('--control-port <port>', 'serve the HTTP control API on this port (0: ephemeral)', intArg(0, 65535))
    .option('--reboot-delay-ms <ms>', 'how long a reboot keeps an instance away', intArg(0, 86400000), DEFAULT_REBOOT_DELAY_MS)
    .option('--trust-key <file>', 'an adbkey.pub every instance trusts (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--features <list>', 'comma-separated banner features (default shell_v2,cmd,delayed_ack; empty for shell v1 only)')
    .action(async (o: SimOptions) => {
      const trustedKeys: KeyObject[] = o.trustKey.map((f) => parseAndroidPublicKey(readFileSync(f)));
      const fleet = await startFleet({
        count: o.count,
        basePort: o.basePort,
        host: o.host,
        auth: o.auth,
        rebootDelayMs: o.rebootDelayMs,
        trustedKeys,
        ...(o.features === undefined ? {} : { features: o.features.split(',').filter((f) => f !== '') }),
      });
      const control = o.controlPort === undefined ? null : await startControlServer(fleet, { port: o.controlPort, host: '127.0.0.1' });
      for (const i of fleet.instances) process.stdout.write(`${i.serial} ${i.address}\n`);
      const ports = fleet.instances.map((i) => i.port).join(',');
      process.stdout.write(`ready count=${fleet.instances.length} host=${o.host} ports=${ports}${control === null ? '' : ` control=${control.port}`}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await control?.close();
      await fleet.close();
      process.stdout.write('stopped\n');
    });
}
