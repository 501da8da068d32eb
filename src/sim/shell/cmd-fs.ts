// ls, cat, rm and df over the virtual filesystem, in toybox's output formats.
import type { DeviceState } from '../device-state.js';
import { ERRNO_TEXT, allowed, fileBytes, fileSize, lookup, modeString, type VNode } from '../vfs.js';
import { STRERROR } from '../storage.js';
import { BufferedProc, type Proc } from './proc.js';
import { parseFlags, type CommandFn, type CommandResult } from './command.js';

const p2 = (n: number): string => String(n).padStart(2, '0');

function stamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}`;
}

/** toybox pads each column to the widest entry of the listing. */
function longLines(entries: [string, VNode][], props: ReadonlyMap<string, string>): string[] {
  const cols = entries.map(([name, n]) => [modeString(n), String(n.links), n.owner, n.group, String(fileSize(n, props)), stamp(n.mtime), name] as const);
  const w = [0, 0, 0, 0, 0];
  for (const c of cols) for (let i = 0; i < 5; i++) w[i] = Math.max(w[i]!, c[i]!.length);
  return cols.map(
    (c) => `${c[0]} ${c[1].padStart(w[1]!)} ${c[2].padEnd(w[2]!)} ${c[3].padEnd(w[3]!)} ${c[4].padStart(w[4]!)} ${c[5]} ${c[6]}`,
  );
}

const blocks = (n: VNode, props: ReadonlyMap<string, string>): number => Math.ceil(fileSize(n, props) / 4096) * 4;

function ls(args: string[], dev: DeviceState): CommandResult {
  const { flags, rest, bad } = parseFlags(args, 'laA1dh');
  if (bad !== null) return { err: `ls: Unknown option '${bad}' (see "ls --help")\n`, code: 1 };
  const long = flags.has('l');
  const paths = rest.length > 0 ? rest : ['.'];
  let err = '';
  const files: [string, VNode][] = [];
  const dirs: [string, VNode][] = [];
  for (const p of paths) {
    const r = lookup(dev.root, p === '.' ? '/' : p);
    if ('error' in r) err += `ls: ${p}: ${ERRNO_TEXT[r.error]}\n`;
    else if (r.node.dir && !flags.has('d')) dirs.push([p, r.node]);
    else files.push([p, r.node]);
  }
  const blocksOut: string[] = [];
  if (files.length > 0) blocksOut.push((long ? longLines(files, dev.props) : files.map(([n]) => n)).join('\n') + '\n');
  for (const [p, node] of dirs) {
    if (!allowed(node, 4)) {
      err += `ls: ${p}: ${ERRNO_TEXT.EACCES}\n`;
      continue;
    }
    const entries: [string, VNode][] = [...node.children!.values()]
      .filter((c) => flags.has('a') || flags.has('A') || !c.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((c) => [c.name, c]);
    if (flags.has('a')) {
      const up = lookup(dev.root, `${p === '.' ? '/' : p}/..`);
      entries.unshift(['.', node], ['..', 'node' in up ? up.node : node]);
    }
    let text = paths.length > 1 ? `${p}:\n` : '';
    if (long) {
      text += `total ${entries.reduce((s, [, n]) => s + blocks(n, dev.props), 0)}\n`;
      if (entries.length > 0) text += longLines(entries, dev.props).join('\n') + '\n';
    } else if (entries.length > 0) text += entries.map(([n]) => n).join('\n') + '\n';
    blocksOut.push(text);
  }
  return { out: blocksOut.join('\n'), err, code: err === '' ? 0 : 1 };
}

/** Byte for byte: a pushed file may be binary. */
function cat(args: string[], dev: DeviceState): CommandResult | Proc {
  const { rest, bad } = parseFlags(args, 'uvteAn');
  if (bad !== null) return { err: `cat: Unknown option '${bad}' (see "cat --help")\n`, code: 1 };
  const out: Buffer[] = [];
  let err = '';
  for (const p of rest) {
    const r = lookup(dev.root, p);
    if ('error' in r) err += `cat: ${p}: ${ERRNO_TEXT[r.error]}\n`;
    else if (r.node.dir) err += `cat: ${p}: ${ERRNO_TEXT.EISDIR}\n`;
    else if (!allowed(r.node, 4)) err += `cat: ${p}: ${ERRNO_TEXT.EACCES}\n`;
    else out.push(...fileBytes(r.node, dev.props));
  }
  return new BufferedProc(Buffer.concat(out), err, err === '' ? 0 : 1);
}

/** Files only (no -r): what the worker's clean-up after an install needs. */
function rm(args: string[], dev: DeviceState): CommandResult {
  const { flags, rest, bad } = parseFlags(args, 'f');
  if (bad !== null) return { err: `rm: Unknown option '${bad}' (see "rm --help")\n`, code: 1 };
  if (rest.length === 0 && !flags.has('f')) return { err: 'rm: Need 1 argument (see "rm --help")\n', code: 1 };
  let err = '';
  for (const p of rest) {
    const e = dev.files.remove(p);
    if (e !== null && !(e === 'ENOENT' && flags.has('f'))) err += `rm: ${p}: ${STRERROR[e]}\n`;
  }
  return { err, code: err === '' ? 0 : 1 };
}

const MOUNTS: readonly [string, number, number, string][] = [
  ['/dev/block/dm-0', 2013044, 2006972, '/'],
  ['tmpfs', 1986172, 1196, '/dev'],
  ['tmpfs', 1986172, 0, '/mnt'],
  ['/dev/block/dm-1', 250324, 249528, '/vendor'],
  ['/dev/block/dm-2', 823308, 820244, '/product'],
  ['/dev/block/vdc', 6127296, 431508, '/data'],
  ['/dev/fuse', 6127296, 431508, '/storage/emulated'],
];

const DF =
  'Filesystem       1K-blocks    Used Available Use% Mounted on\n' +
  MOUNTS.map(([fs, size, used, at]) => {
    const avail = size - used < size / 100 ? 0 : size - used;
    const pct = `${Math.ceil((used * 100) / size)}%`;
    return `${fs.padEnd(16)} ${String(size).padStart(9)} ${String(used).padStart(7)} ${String(avail).padStart(9)} ${pct.padStart(4)} ${at}\n`;
  }).join('');

export const FS_COMMANDS: Record<string, CommandFn> = {
  ls,
  cat,
  rm,
  df: (args) => {
    const { bad } = parseFlags(args, 'hkPa');
    return bad !== null ? { err: `df: Unknown option '${bad}' (see "df --help")\n`, code: 1 } : { out: DF };
  },
};
