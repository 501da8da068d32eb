// A strict reader of Prometheus's text exposition format (version 0.0.4): every line must be a
// HELP, a TYPE, another comment, blank, or a sample of a family whose TYPE came before it, with
// valid names, quoted and escaped label values, and a number. What a scraper would refuse, this
// throws on, naming the line.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** each family's TYPE and HELP */
  families: Map<string, { type: MetricType; help: string | null }>;
  samples: Sample[];
  /** The samples named so whose labels include these (all of them when none are given). */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The value of the one sample named so with these labels (throws unless exactly one matches). */
  value(name: string, labels?: Record<string, string>): number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const HELP = new RegExp(`^# HELP (${NAME})(?: (.*))?$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`);
/** Go's ParseFloat, which Prometheus reads values with: NaN and Inf in any case (prom-client
 * writes "Nan" for a gauge with no value yet). */
const NUMBER = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?inf(?:inity)?|nan)$/i;

/** The family a sample belongs to: histograms and summaries add suffixes to their name. */
function familyOf(name: string, families: Exposition['families']): string | null {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return null;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL_PAIR.exec(rest);
    if (m === null) throw new Error(`${where}: malformed labels at "${rest}"`);
    const [whole, name, raw] = m as unknown as [string, string, string];
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = raw.replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest.length > 0) throw new Error(`${where}: expected "," between labels at "${rest}"`);
  }
  return labels;
}

function parseValue(raw: string, where: string): number {
  if (!NUMBER.test(raw)) throw new Error(`${where}: "${raw}" is not a number`);
  const word = raw.toLowerCase().replace(/^\+/, '');
  if (word === 'nan') return NaN;
  if (word === 'inf' || word === 'infinity') return Infinity;
  if (word === '-inf' || word === '-infinity') return -Infinity;
  return Number(raw);
}

export function parseExposition(text: string): Exposition {
  const families: Exposition['families'] = new Map();
  const samples: Sample[] = [];
  const typed = new Set<string>();
  const helped = new Set<string>();
  const sampled = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop(); // the text ends with a newline
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1} "${line}"`;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const type = TYPE.exec(line);
      const help = HELP.exec(line);
      if (type !== null) {
        const [, name, kind] = type as unknown as [string, string, MetricType];
        if (typed.has(name)) throw new Error(`${where}: a second TYPE for ${name}`);
        if (sampled.has(name)) throw new Error(`${where}: TYPE after ${name}'s samples`);
        typed.add(name);
        families.set(name, { type: kind, help: families.get(name)?.help ?? null });
      } else if (help !== null) {
        const [, name, doc] = help as unknown as [string, string, string | undefined];
        if (helped.has(name)) throw new Error(`${where}: a second HELP for ${name}`);
        helped.add(name);
        families.set(name, { type: families.get(name)?.type ?? 'untyped', help: doc ?? '' });
      } else if (line.startsWith('# HELP') || line.startsWith('# TYPE')) {
        throw new Error(`${where}: malformed HELP or TYPE`);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`${where}: not a sample`);
    const [, name, labelText, raw] = m as unknown as [string, string, string | undefined, string];
    const family = familyOf(name, families);
    if (family === null || !typed.has(family)) throw new Error(`${where}: sample of ${name} before its TYPE`);
    sampled.add(family);
    samples.push({ name, labels: labelText === undefined ? {} : parseLabels(labelText, where), value: parseValue(raw, where) });
  }
  const find = (name: string, labels: Record<string, string> = {}): Sample[] =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    families,
    samples,
    find,
    value(name, labels = {}) {
      const found = find(name, labels);
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}, not one`);
      return found[0]!.value;
    },
  };
}
