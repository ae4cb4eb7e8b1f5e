/**
 * Text from remote servers and users, made safe to show: control characters become visible
 * escapes (NUL → \x00, a bare CR → \x0d, ESC → \x1b, DEL → \x7f, C1 controls), so a hostile
 * banner can neither drive a terminal nor hide or rewrite text in a page. Tabs, line feeds
 * and the CR of a CRLF line break stay as they are. The one helper of the CLI's output and
 * the web pages. Pure; linear time.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\r(?!\n)/g;

export function visibleControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
