// Text as the terminal gets it: a device's output may hold escape sequences and control bytes,
// which must never reach the user's terminal as commands, and rows must fit the screen.

/** The width lines are cut to: the terminal's when writing to one, else a conventional 80. */
export function widthOf(stream: NodeJS.WriteStream): number {
  return stream.isTTY && stream.columns > 0 ? stream.columns : 80;
}

/** C0 and C1 controls and DEL (ESC included): shown as "?" so a device cannot drive the terminal. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

export function printable(s: string): string {
  return s.replace(CONTROLS, '?');
}

/** The first line of a job's output, tabs as spaces, controls defused. */
export function firstLine(s: string): string {
  const line = /^[^\r\n]*/.exec(s)?.[0] ?? '';
  return printable(line.replaceAll('\t', ' ')).trimEnd();
}

/** Cut to `width` characters, marking a cut with "…". */
export function cut(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  return width <= 0 ? '' : `${chars.slice(0, width - 1).join('')}…`;
}

/**
 * Rows as aligned columns (two spaces apart), each line cut to `width` (so the last column, the
 * free text, gives way first). Cells must already be printable.
 */
export function columns(rows: readonly (readonly string[])[], width: number): string {
  const count = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: count - 1 }, (_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows
    .map((row) => {
      const cells = widths.map((w, i) => (row[i] ?? '').padEnd(w));
      const last = row[count - 1] ?? '';
      return cut([...cells, last].join('  ').trimEnd(), width);
    })
    .join('\n');
}
