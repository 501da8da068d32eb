// Text as the terminal gets it: a device's output may hold escape sequences and control bytes,
// which must never reach the user's terminal as commands, and rows must fit the screen, measured
// in the columns a terminal gives each character (two for CJK and emoji, none for a combining mark).

/** The width lines are cut to: the terminal's when writing to one, else a conventional 80. */
export function widthOf(stream: NodeJS.WriteStream): number {
  return stream.isTTY && stream.columns > 0 ? stream.columns : 80;
}

/**
 * C0 and C1 controls and DEL (ESC included), so a device cannot drive the terminal; the bidi
 * controls, which make a terminal show the text after them reordered (what a row says would not
 * be what it holds); the line and paragraph separators, which some terminals break lines at.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
/** The same, but line ends and tabs are kept: text shown as lines, not in a table cell. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS_BUT_LINES = /\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** One line's text with every control shown as "?". */
export function printable(s: string): string {
  return s.replace(CONTROLS, '?');
}

/** One line's text with every control shown as its escape (\u001b), for a value that must be read as it was stored. */
export function escapedControls(s: string): string {
  return s.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Many lines' text with every control but the line ends (\n, \r\n) and tabs shown as "?". */
export function printableLines(s: string): string {
  return s.replace(CONTROLS_BUT_LINES, '?');
}

/** The first line of a job's output, tabs as spaces, controls defused. */
export function firstLine(s: string): string {
  const line = /^[^\r\n]*/.exec(s)?.[0] ?? '';
  return printable(line.replaceAll('\t', ' ')).trimEnd();
}

/** Combining marks and format characters (zero-width joiner and space, variation selectors). */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
/**
 * East Asian wide and fullwidth characters (Hangul Jamo, CJK, kana, Hangul syllables, fullwidth
 * forms, the supplementary ideographic planes) and emoji shown as emoji: two columns each.
 */
const WIDE =
  /^(?:\p{Emoji_Presentation}|[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{1b000}-\u{1b2ff}\u{20000}-\u{2fffd}\u{30000}-\u{3fffd}])$/u;

function charWidth(ch: string): number {
  if (ZERO_WIDTH.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

/** The columns `s` takes on a terminal (it must be printable: no controls). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

/** Cut to `width` columns, marking a cut with "…". */
export function cut(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return '';
  let kept = '';
  let used = 0;
  for (const ch of s) {
    const w = charWidth(ch);
    // One column is kept for the "…".
    if (used + w > width - 1) break;
    kept += ch;
    used += w;
  }
  return `${kept}…`;
}

/**
 * Rows as aligned columns (two spaces apart), each line cut to `width` columns (so the last
 * column, the free text, gives way first). Cells must already be printable.
 */
export function columns(rows: readonly (readonly string[])[], width: number): string {
  const count = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: count - 1 }, (_, i) => Math.max(...rows.map((r) => displayWidth(r[i] ?? ''))));
  return rows
    .map((row) => {
      const cells = widths.map((w, i) => {
        const cell = row[i] ?? '';
        return cell + ' '.repeat(w - displayWidth(cell));
      });
      const last = row[count - 1] ?? '';
      return cut([...cells, last].join('  ').trimEnd(), width);
    })
    .join('\n');
}
