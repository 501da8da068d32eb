// Command-line parsing as mksh does it for what the simulator supports: words with '...', "..."
// and backslash quoting, lists joined by `;`, `&&`, `||`. Pipes, redirections and substitutions
// are refused with a clear message rather than half-implemented.

type ListOp = ';' | '&&' | '||';

interface SimpleCommand {
  /** How this command joins the previous one (`;` for the first). */
  op: ListOp;
  argv: string[];
}

type ParseResult = { ok: true; list: SimpleCommand[] } | { ok: false; error: string };

const UNSUPPORTED = new Set(['|', '>', '<', '&', '`', '(', ')']);

export function parseCommandLine(line: string): ParseResult {
  const list: SimpleCommand[] = [];
  let argv: string[] = [];
  let word = '';
  let inWord = false;
  let op: ListOp = ';';
  const endWord = (): void => {
    if (inWord) argv.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = (next: ListOp): string | null => {
    endWord();
    if (argv.length === 0) {
      // `;` alone or a leading `&&` is a syntax error in mksh; a trailing `;` is fine.
      return `syntax error: '${next}' unexpected`;
    }
    list.push({ op, argv });
    argv = [];
    op = next;
    return null;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      endWord();
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: 'no closing quote' };
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      if (j >= line.length) return { ok: false, error: 'no closing quote' };
      inWord = true;
      i = j;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (c === ';') {
      const err = endCommand(';');
      if (err !== null) return { ok: false, error: err };
    } else if ((c === '&' || c === '|') && line[i + 1] === c) {
      const err = endCommand(c === '&' ? '&&' : '||');
      if (err !== null) return { ok: false, error: err };
      i++;
    } else if (UNSUPPORTED.has(c) || (c === '$' && line[i + 1] === '(')) {
      return { ok: false, error: `'${c}' is not supported by the simulator's shell` };
    } else {
      word += c;
      inWord = true;
    }
  }
  endWord();
  if (argv.length > 0) list.push({ op, argv });
  else if (op !== ';') return { ok: false, error: `syntax error: unexpected end after '${op}'` };
  return { ok: true, list };
}
