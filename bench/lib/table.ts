// The benches' tables: Markdown, one row per measure, one column per store.

export type Cell = string | null;

/** Prints a table; a null cell is printed as "-" (the measure does not apply to that store). */
export function printTable(title: string, columns: readonly string[], rows: ReadonlyArray<readonly [string, ...Cell[]]>): void {
  console.log(`\n${title}`);
  console.log(`| measure | ${columns.join(' | ')} |`);
  console.log(`|---|${columns.map(() => '---').join('|')}|`);
  for (const [label, ...cells] of rows) console.log(`| ${label} | ${cells.map((c) => c ?? '-').join(' | ')} |`);
}

/** n with thousands separators and `digits` decimals */
export function num(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pctOf(share: number | null | undefined): string {
  return share === null || share === undefined || !Number.isFinite(share) ? '-' : `${(share * 100).toFixed(0)}%`;
}

export function ms(n: number | null | undefined, digits = 3): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '-' : `${n.toFixed(digits)} ms`;
}
