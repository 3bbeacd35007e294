/**
 * Text taken from data (UIDs, reasons, tag values) as it may be printed on a terminal: control characters (C0, DEL,
 * C1, which start terminal escape sequences such as `ESC ]` that can retitle the window or forge earlier lines) and
 * bidirectional overrides (which can make printed text read differently from what it is) are shown as `\u{…}`
 * escapes; tab and line feed stay (callers that print one line per record flatten whitespace first). `--json` output needs none of this: JSON.stringify escapes them.
 */
// eslint-disable-next-line no-control-regex
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(unsafe, (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`);
}
