// Android's own tools: getprop/setprop, pm, am, input, wm, settings, dumpsys, cmd.
// Java tools (pm, am, wm, settings, cmd) answer a usage error with -1, i.e. exit status 255.
import type { DeviceState, SettingsNamespace } from '../device-state.js';
import { JAVA_USAGE_EXIT, type CommandFn, type CommandResult } from './command.js';
import { dumpPackage, pm } from './cmd-package.js';
import { BufferedProc, type Proc } from './proc.js';
import { renderScreen } from '../screencap.js';
import { STRERROR, type Errno } from '../storage.js';

const usage = (msg: string): CommandResult => ({ err: `${msg}\n`, code: JAVA_USAGE_EXIT });

function getprop(args: string[], dev: DeviceState): CommandResult {
  if (args.length === 0) {
    const keys = [...dev.props.keys()].sort();
    return { out: keys.map((k) => `[${k}]: [${dev.props.get(k)}]\n`).join('') };
  }
  return { out: `${dev.props.get(args[0]!) ?? args[1] ?? ''}\n` };
}

function setprop(args: string[], dev: DeviceState): CommandResult {
  if (args.length !== 2) return { err: `setprop: Need 2 arguments\n`, code: 1 };
  const [name, value] = args as [string, string];
  if (!/^[A-Za-z0-9_.\-@:]+$/.test(name) || (name.startsWith('ro.') && dev.props.has(name))) {
    return { err: `setprop: failed to set property '${name}' to '${value}'\n`, code: 1 };
  }
  dev.props.set(name, value);
  return {};
}

function am(args: string[], dev: DeviceState): CommandResult {
  const [sub, ...rest] = args;
  if (sub === undefined) return usage('Activity manager (activity) commands:\n  start -n COMPONENT\n  force-stop PACKAGE');
  if (sub === 'start' || sub === 'start-activity') {
    const i = rest.indexOf('-n');
    const component = i >= 0 ? rest[i + 1] : undefined;
    if (component === undefined) return usage('Error: Intent does not match any activities');
    const [pkgName, act] = component.split('/', 2) as [string, string | undefined];
    if (act === undefined || act === '') return usage(`Error: Bad component name: ${component}`);
    const out = `Starting: Intent { cmp=${component} }\n`;
    const pkg = dev.package(pkgName);
    const full = (a: string): string => (a.startsWith('.') ? pkgName + a : a);
    if (pkg === undefined || pkg.activity === '' || full(pkg.activity) !== full(act)) {
      return { out, err: `Error type 3\nError: Activity class {${pkgName}/${full(act)}} does not exist.\n`, code: 1 };
    }
    dev.running.add(pkgName);
    return { out };
  }
  if (sub === 'force-stop') {
    if (rest[0] === undefined) return usage('Error: no package specified');
    dev.running.delete(rest[0]);
    return {};
  }
  return usage(`Unknown command: ${sub}`);
}

const SOURCES = new Set(['touchscreen', 'touchpad', 'keyboard', 'mouse', 'dpad', 'gamepad', 'stylus', 'trackball', 'joystick']);
const INPUT_USAGE = 'Usage: input [<source>] <command> [<arg>...]\n  tap <x> <y>\n  swipe <x1> <y1> <x2> <y2> [duration(ms)]\n  text <string>\n  keyevent [--longpress] <key code number or name> ...';

function input(args: string[]): CommandResult {
  const a = SOURCES.has(args[0] ?? '') ? args.slice(1) : args;
  const [sub, ...rest] = a;
  const bad = (): CommandResult => ({ err: `Error: Invalid arguments for command: ${sub}\n${INPUT_USAGE}\n`, code: 1 });
  const num = (s: string): boolean => /^-?\d+(\.\d+)?$/.test(s);
  if (sub === 'tap') {
    if (rest.length !== 2 || !rest.every(num)) return bad();
  } else if (sub === 'swipe' || sub === 'draganddrop') {
    if ((rest.length !== 4 && rest.length !== 5) || !rest.every(num)) return bad();
  } else if (sub === 'text') {
    if (rest.length !== 1) return bad();
  } else if (sub === 'keyevent') {
    const codes = rest.filter((r) => r !== '--longpress' && r !== '--doubletap');
    if (codes.length === 0 || !codes.every((c) => /^\d+$/.test(c) || /^(KEYCODE_)?[A-Z0-9_]+$/.test(c))) return bad();
  } else {
    return { err: `Error: Unknown command: ${sub ?? ''}\n${INPUT_USAGE}\n`, code: 1 };
  }
  return {};
}

function wm(args: string[], dev: DeviceState): CommandResult {
  const [sub, value] = args;
  if (sub === 'size') {
    if (value === undefined) {
      const o = dev.sizeOverride;
      return { out: `Physical size: ${dev.profile.size}\n${o === null ? '' : `Override size: ${o}\n`}` };
    }
    if (value === 'reset') dev.sizeOverride = null;
    else if (/^\d+x\d+$/.test(value)) dev.sizeOverride = value;
    else return usage(`Error: bad size ${value}`);
    return {};
  }
  if (sub === 'density') {
    if (value === undefined) {
      const o = dev.densityOverride;
      return { out: `Physical density: ${dev.profile.density}\n${o === null ? '' : `Override density: ${o}\n`}` };
    }
    if (value === 'reset') dev.densityOverride = null;
    else if (/^\d+$/.test(value) && Number(value) > 0) dev.densityOverride = Number(value);
    else return usage(`Error: bad number ${value}`);
    return {};
  }
  return usage(sub === undefined ? 'Window manager (window) commands:\n  size [reset|WxH]\n  density [reset|DENSITY]' : `Unknown command: ${sub}`);
}

function settings(args: string[], dev: DeviceState): CommandResult {
  const [verb, ns, key, value] = args;
  if (verb === undefined || !['get', 'put', 'delete', 'list'].includes(verb)) return usage(`Invalid command: ${verb ?? ''}`);
  if (ns !== 'system' && ns !== 'secure' && ns !== 'global') return usage(`Invalid namespace '${ns ?? ''}'`);
  const map = dev.settings[ns as SettingsNamespace];
  if (verb === 'list') return { out: [...map.keys()].sort().map((k) => `${k}=${map.get(k)}\n`).join('') };
  if (key === undefined) return usage('Bad arguments');
  if (verb === 'get') return { out: `${map.get(key) ?? 'null'}\n` };
  if (verb === 'delete') return { out: `Deleted ${map.delete(key) ? 1 : 0} rows\n` };
  if (value === undefined) return usage('Bad arguments');
  map.set(key, value);
  return {};
}

const BATTERY =
  'Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  Wireless powered: false\n' +
  '  Max charging current: 500000\n  Max charging voltage: 5000000\n  Charge counter: 4500000\n  status: 2\n' +
  '  health: 2\n  present: true\n  level: 100\n  scale: 100\n  voltage: 4350\n  temperature: 250\n  technology: Li-ion\n';

const SERVICES = ['activity', 'battery', 'input', 'package', 'settings', 'window'];

function dumpsys(args: string[], dev: DeviceState): CommandResult {
  const s = args[0];
  if (s === undefined || s === '-l') return { out: `Currently running services:\n${SERVICES.map((x) => `  ${x}\n`).join('')}` };
  if (s === 'battery') return { out: BATTERY };
  if (s === 'package' && args[1] !== undefined) return dumpPackage(args[1], dev);
  if (SERVICES.includes(s)) return { out: `DUMP OF SERVICE ${s}:\n` };
  return { err: `Can't find service: ${s}\n` };
}

function cmd(args: string[], dev: DeviceState): CommandResult | Proc {
  const [service, ...rest] = args;
  if (service === '-l') return { out: `${SERVICES.join('\n')}\n` };
  const target = { package: pm, activity: am, window: wm, settings, input }[service ?? ''];
  if (target === undefined) return { err: `cmd: Can't find service: ${service ?? ''}\n`, code: 20 };
  return target(rest, dev);
}

/** `screencap -p [FILE]`: a PNG of the current screen size, to stdout (byte for byte through exec:) or to a file. */
function screencap(args: string[], dev: DeviceState): CommandResult | Proc {
  const png = args.includes('-p');
  const file = args.find((a) => !a.startsWith('-'));
  if (args.some((a) => a.startsWith('-') && a !== '-p')) return { err: `screencap: invalid option -- '${args.find((a) => a !== '-p' && a.startsWith('-'))!.slice(1)}'\n`, code: 1 };
  if (!png && !file?.endsWith('.png')) return { err: 'screencap: only PNG output (-p) is simulated\n', code: 1 };
  const [w, h] = (dev.sizeOverride ?? dev.profile.size).split('x').map(Number) as [number, number];
  const image = renderScreen(dev.serial, w, h, new Date());
  if (file === undefined) return new BufferedProc(image, '', 0);
  const failed = (err: Errno): CommandResult => ({ err: `Error opening file: ${file} (${STRERROR[err]})\n`, code: 1 });
  const writer = dev.files.create(file, 0o644);
  if (typeof writer === 'string') return failed(writer);
  const err = writer.write(image);
  if (err !== null) {
    writer.abort();
    return failed(err);
  }
  writer.commit(Date.now());
  return {};
}

export const ANDROID_COMMANDS: Record<string, CommandFn> = { getprop, setprop, pm, am, input, wm, settings, dumpsys, cmd, screencap };
