// Toybox and mksh builtins: echo, id, uname, date, sleep, seq, exit, ps ...
import { KERNEL_BUILD, KERNEL_RELEASE, type DeviceState } from '../device-state.js';
import { BufferedProc, SeqProc, SleepProc } from './proc.js';
import type { CommandFn, CommandResult } from './command.js';

const ID =
  'uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),' +
  '1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),' +
  '3011(uhid),3012(readtracefs) context=u:r:shell:s0\n';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

function echo(args: string[]): CommandResult {
  let newline = true;
  let escapes = false;
  let i = 0;
  for (; i < args.length && /^-[neE]+$/.test(args[i]!); i++) {
    for (const f of args[i]!.slice(1)) {
      if (f === 'n') newline = false;
      else escapes = f === 'e';
    }
  }
  let text = args.slice(i).join(' ');
  if (escapes) {
    const cut = text.indexOf('\\c');
    if (cut >= 0) {
      text = text.slice(0, cut);
      newline = false;
    }
    text = text.replace(/\\([nt\\ab]|0[0-7]{0,3})/g, (_m, e: string) =>
      e === 'n' ? '\n' : e === 't' ? '\t' : e === '\\' ? '\\' : e === 'a' ? '\x07' : e === 'b' ? '\b' : String.fromCharCode(parseInt(e, 8)),
    );
  }
  return { out: newline ? `${text}\n` : text };
}

function uname(args: string[]): CommandResult {
  const fields: [string, string][] = [
    ['s', 'Linux'],
    ['n', 'localhost'],
    ['r', KERNEL_RELEASE],
    ['v', KERNEL_BUILD],
    ['m', 'aarch64'],
    ['o', 'Toybox'],
  ];
  const want = new Set<string>();
  for (const a of args) {
    if (!/^-[snrvmoa]+$/.test(a)) return { err: `uname: Unknown option '${a.replace(/^-+/, '')[0] ?? a}' (see "uname --help")\n`, code: 1 };
    for (const f of a.slice(1)) {
      if (f === 'a') for (const [k] of fields) want.add(k);
      else want.add(f);
    }
  }
  if (want.size === 0) want.add('s');
  return { out: `${fields.filter(([k]) => want.has(k)).map(([, v]) => v).join(' ')}\n` };
}

function date(args: string[]): CommandResult {
  const d = new Date();
  const fmt = args[0];
  if (fmt !== undefined && !fmt.startsWith('+')) return { err: `date: bad date '${fmt}'\n`, code: 1 };
  const spec: Record<string, () => string> = {
    a: () => DAYS[d.getUTCDay()]!,
    b: () => MONTHS[d.getUTCMonth()]!,
    d: () => p2(d.getUTCDate()),
    e: () => String(d.getUTCDate()).padStart(2, ' '),
    H: () => p2(d.getUTCHours()),
    M: () => p2(d.getUTCMinutes()),
    S: () => p2(d.getUTCSeconds()),
    m: () => p2(d.getUTCMonth() + 1),
    Y: () => String(d.getUTCFullYear()),
    Z: () => 'GMT',
    s: () => String(Math.floor(d.getTime() / 1000)),
    '%': () => '%',
  };
  const pattern = fmt === undefined ? '%a %b %e %H:%M:%S %Z %Y' : fmt.slice(1);
  return { out: `${pattern.replace(/%(.)/g, (m, c: string) => spec[c]?.() ?? m)}\n` };
}

function uptime(_args: string[], dev: DeviceState): CommandResult {
  const d = new Date();
  let mins = Math.floor((Date.now() - dev.bootTime) / 60000);
  const minutes = mins % 60;
  mins = Math.floor(mins / 60);
  const hours = mins % 24;
  const days = Math.floor(mins / 24);
  let s = ` ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} up `;
  if (days > 0) s += `${days} day${days !== 1 ? 's' : ''}, `;
  s += hours > 0 ? `${String(hours).padStart(2, ' ')}:${p2(minutes)}, ` : `${minutes} min, `;
  return { out: `${s} 0 users,  load average: 0.00, 0.00, 0.00\n` };
}

/** toybox sleep: seconds with an optional fraction and s/m/h/d suffix. */
function sleep(args: string[]): CommandResult | SleepProc {
  if (args.length !== 1) return { err: 'sleep: Need 1 argument\n', code: 1 };
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(args[0]!);
  if (m === null) return { err: `sleep: Not a number '${args[0]}'\n`, code: 1 };
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return new SleepProc(Number(m[1]) * unit * 1000);
}

function seq(args: string[]): CommandResult | SeqProc {
  if (args.length < 1 || args.length > 3) return { err: `seq: Need 1-3 arguments\n`, code: 1 };
  const nums: number[] = [];
  for (const a of args) {
    if (!/^-?\d+$/.test(a)) return { err: `seq: Not integer '${a}'\n`, code: 1 };
    nums.push(Number(a));
  }
  const [first, step, last] = nums.length === 1 ? [1, 1, nums[0]!] : nums.length === 2 ? [nums[0]!, 1, nums[1]!] : [nums[0]!, nums[1]!, nums[2]!];
  if (step === 0) return { err: 'seq: Increment must not be zero\n', code: 1 };
  return new SeqProc(first, step, last);
}

function exit(args: string[]): BufferedProc {
  const a = args[0];
  if (a === undefined) return new BufferedProc('', '', 0, true);
  if (!/^-?\d+$/.test(a)) return new BufferedProc('', `/system/bin/sh: exit: ${a}: bad number\n`, 1, true);
  return new BufferedProc('', '', Number(a) & 255, true);
}

const PROCS: readonly [string, number, number, number, number, string, string][] = [
  ['root', 1, 0, 10900776, 12060, 'do_epoll_wait', 'init'],
  ['root', 2, 0, 0, 0, 'kthreadd', '[kthreadd]'],
  ['root', 160, 1, 10788280, 3668, 'do_sys_poll', 'ueventd'],
  ['logd', 190, 1, 10853144, 6200, 'do_select', 'logd'],
  ['system', 191, 1, 10779196, 4704, 'do_epoll_wait', 'servicemanager'],
  ['system', 251, 1, 11030260, 23356, 'do_epoll_wait', 'surfaceflinger'],
  ['root', 260, 1, 14971720, 107028, 'do_sys_poll', 'zygote64'],
  ['shell', 420, 1, 10891724, 3224, 'do_epoll_wait', 'adbd'],
  ['system', 560, 260, 17843440, 221512, 'do_epoll_wait', 'system_server'],
  ['u0_a50', 820, 260, 15781816, 152204, 'do_epoll_wait', 'com.android.systemui'],
];

function ps(args: string[], dev: DeviceState): CommandResult {
  const all = args.some((a) => /^-[^-]*[Ae]/.test(a));
  const row = (u: string, pid: number, ppid: number, vsz: number, rss: number, wchan: string, state: string, name: string): string =>
    `${u.padEnd(10)} ${String(pid).padStart(6)} ${String(ppid).padStart(5)} ${String(vsz).padStart(8)} ${String(rss).padStart(6)} ${wchan.padEnd(16).slice(0, 16)} ${'0'.padStart(4)} ${state} ${name}\n`;
  let out = 'USER           PID  PPID      VSZ    RSS WCHAN            ADDR S NAME\n';
  if (all) {
    for (const [u, pid, ppid, vsz, rss, w, name] of PROCS) out += row(u, pid, ppid, vsz, rss, w, 'S', name);
    let pid = 900;
    for (const pkg of dev.running) out += row('u0_a100', pid++, 260, 15023456, 98304, 'do_epoll_wait', 'S', pkg);
  }
  out += row('shell', 4321, 420, 10898428, 3316, 'sigsuspend', 'S', 'sh');
  out += row('shell', 4330, 4321, 10870108, 3560, '0', 'R', 'ps');
  return { out };
}

export const BASIC_COMMANDS: Record<string, CommandFn> = {
  echo,
  true: () => ({}),
  false: () => ({ code: 1 }),
  exit,
  id: () => ({ out: ID }),
  whoami: () => ({ out: 'shell\n' }),
  hostname: () => ({ out: 'localhost\n' }),
  pwd: () => ({ out: '/\n' }),
  uname,
  date,
  uptime,
  sleep,
  seq,
  ps,
  reboot: (_args, dev) => {
    dev.onReboot();
    // Never returns: the device goes down under it.
    return new SleepProc(Infinity);
  },
};
