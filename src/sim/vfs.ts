// A small virtual filesystem: enough of an Android tree for `ls` and `cat` to answer like toybox,
// and for the sync service to push and pull files (storage.ts). Nothing here touches the host's disk.
import { markHandedOut } from './chunks.js';

export interface VNode {
  name: string;
  dir: boolean;
  /** Permission bits (0o755 ...). */
  mode: number;
  owner: string;
  group: string;
  /** Epoch ms. */
  mtime: number;
  links: number;
  /** Files: fixed text, or computed from the reading device's properties (the tree is shared by all instances). */
  content?: string | ((props: ReadonlyMap<string, string>) => string);
  /** A pushed file's bytes, in chunks (chunks.ts: never written once the file is complete, maybe shared with other files; storage.ts counts them). */
  blob?: Buffer[];
  /** Bytes in blob. */
  size?: number;
  children?: Map<string, VNode>;
}

/** Android's build timestamp for files from the system image (what real devices show). */
const IMAGE_TIME = Date.UTC(2009, 0, 1, 0, 0, 0);

/** The groups of adbd's `shell` user that matter for permissions here. */
const SHELL_GROUPS = new Set(['shell', 'sdcard_rw', 'sdcard_r', 'everybody', 'ext_data_rw']);

export function dir(name: string, children: VNode[] = [], mode = 0o755, owner = 'root', group = 'root'): VNode {
  const map = new Map<string, VNode>();
  for (const c of children) map.set(c.name, c);
  return { name, dir: true, mode, owner, group, mtime: IMAGE_TIME, links: 2 + children.filter((c) => c.dir).length, children: map };
}

export function file(name: string, content: string | ((props: ReadonlyMap<string, string>) => string), mode = 0o644, owner = 'root', group = 'root'): VNode {
  return { name, dir: false, mode, owner, group, mtime: IMAGE_TIME, links: 1, content };
}

export function fileText(node: VNode, props: ReadonlyMap<string, string>): string {
  if (node.blob !== undefined) return Buffer.concat(node.blob).toString('latin1');
  const c = node.content;
  return typeof c === 'function' ? c(props) : (c ?? '');
}

/** A file's bytes as pieces (a pushed file's chunks themselves, not copied: their memory is never reused). */
export function fileBytes(node: VNode, props: ReadonlyMap<string, string>): Buffer[] {
  if (node.blob === undefined) return [Buffer.from(fileText(node, props))];
  markHandedOut(node.blob);
  return node.blob;
}

export function fileSize(node: VNode, props: ReadonlyMap<string, string>): number {
  if (node.dir) return 4096;
  return node.size ?? Buffer.byteLength(fileText(node, props));
}

/** Normalises a path against `/` (the shell's working directory): `.`/`..`/repeated slashes. */
export function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

type Lookup = { node: VNode } | { error: 'ENOENT' | 'EACCES' | 'ENOTDIR' };

/** Walks from the root; searching a directory needs its x bit, as for the real shell user. */
export function lookup(root: VNode, path: string): Lookup {
  let node = root;
  for (const part of normalize(path).split('/')) {
    if (part === '') continue;
    if (!node.dir) return { error: 'ENOTDIR' };
    if (!allowed(node, 0o1)) return { error: 'EACCES' };
    const next = node.children?.get(part);
    if (next === undefined) return { error: 'ENOENT' };
    node = next;
  }
  return { node };
}

/** Can the shell user do `bit` (4 read, 2 write, 1 exec) on this node? */
export function allowed(node: VNode, bit: number): boolean {
  if (node.owner === 'shell') return ((node.mode >> 6) & bit) !== 0;
  if (SHELL_GROUPS.has(node.group)) return ((node.mode >> 3) & bit) !== 0;
  return (node.mode & bit) !== 0;
}

export const ERRNO_TEXT = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
} as const;

export function modeString(node: VNode): string {
  const bits = 'rwxrwxrwx';
  let s = node.dir ? 'd' : '-';
  for (let i = 0; i < 9; i++) s += node.mode & (0o400 >> i) ? bits[i] : '-';
  return s;
}
