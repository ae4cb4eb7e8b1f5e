/**
 * SVG Tiny Portable/Secure (the profile BIMI logos must follow, draft-svg-tiny-ps-abrotman):
 * a root <svg> with baseProfile="tiny-ps" and version="1.2", a <title>, no scripts, no
 * animation, no external references, no x/y on the root, and a square view box. This is a
 * single left-to-right scan of the markup — no XML library, no regular expressions over the
 * document — so its cost is linear in the size of the file whatever the file contains; the
 * element count and nesting depth are capped as well. It checks the profile's rules, not
 * full XML well-formedness. Pure.
 */

export interface SvgCheck {
  bytes: number;
  root?: { name: string; attributes: Record<string, string> };
  elements: number;
  hasTitle: boolean;
  /** Elements the profile forbids, each named once. */
  forbiddenElements: string[];
  /** Attributes the profile forbids (event handlers), each named once. */
  forbiddenAttributes: string[];
  /** href / xlink:href / url() values that point outside the document. */
  externalReferences: string[];
  viewBox?: { width: number; height: number };
  /** Every rule the file breaks, in words. */
  problems: string[];
}

/** Elements outside SVG Tiny PS: scripting, animation, interactivity, embedded content. */
const FORBIDDEN = new Set([
  'script',
  'foreignobject',
  'image',
  'video',
  'audio',
  'iframe',
  'animation',
  'animate',
  'animatecolor',
  'animatemotion',
  'animatetransform',
  'set',
  'discard',
  'a',
  'handler',
  'listener',
  'prefetch',
  'switch',
]);

const MAX_ELEMENTS = 50_000;
const MAX_DEPTH = 256;
/** BIMI asks for logos of at most 32 KiB. */
export const BIMI_SVG_MAX_BYTES = 32 * 1024;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Reads a name (element or attribute) from `i`; stops at whitespace, '=', '/', '>'. */
function readName(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (isSpace(c) || c === 0x3d || c === 0x2f || c === 0x3e) break;
    i++;
  }
  return i;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Positions of "</style" (any case), found in one pass on first use; `next(from)` answers
 * queries whose `from` never decreases with a moving pointer, so all of them together cost
 * one scan of the document.
 */
function closingTags(s: string, name: string): { next(from: number): number } {
  let positions: number[] | undefined;
  let k = 0;
  return {
    next(from) {
      if (!positions) {
        positions = [];
        for (let at = s.indexOf('</'); at >= 0; at = s.indexOf('</', at + 2))
          if (s.slice(at + 2, at + 2 + name.length).toLowerCase() === name) positions.push(at);
      }
      while (k < positions.length && positions[k]! < from) k++;
      return k < positions.length ? positions[k]! : -1;
    },
  };
}

/** A url(...) reference to something other than a fragment of this document. */
function externalUrls(value: string, out: Set<string>): void {
  let from = 0;
  for (;;) {
    const at = value.indexOf('url(', from);
    if (at < 0) return;
    const close = value.indexOf(')', at);
    const inner = value
      .slice(at + 4, close < 0 ? value.length : close)
      .trim()
      .replace(/^["']|["']$/g, '');
    if (!inner.startsWith('#')) out.add(`url(${inner})`);
    if (close < 0) return;
    from = close + 1;
  }
}

function parseViewBox(text: string): { width: number; height: number } | undefined {
  const parts = text
    .trim()
    .split(/[\s,]+/)
    .map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) return undefined;
  return { width: parts[2]!, height: parts[3]! };
}

// Long on purpose: a single linear pass over the SVG text (no backtracking, no DOM): the
// tokenizer states and the profile rules they feed share one position and must stay together.
export function checkSvgTinyPs(body: Buffer | string): SvgCheck {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const out: SvgCheck = {
    bytes: typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    elements: 0,
    hasTitle: false,
    forbiddenElements: [],
    forbiddenAttributes: [],
    externalReferences: [],
    problems: [],
  };
  const forbiddenElements = new Set<string>();
  const forbiddenAttributes = new Set<string>();
  const external = new Set<string>();
  const stack: string[] = [];
  let entities = false;
  const styleEnds = closingTags(text, 'style');
  let i = 0;
  const s = text;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    if (lt < 0) break;
    if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4);
      i = end < 0 ? s.length : end + 3;
      continue;
    }
    if (s.startsWith('<![CDATA[', lt)) {
      const end = s.indexOf(']]>', lt + 9);
      i = end < 0 ? s.length : end + 3;
      continue;
    }
    if (s.startsWith('<?', lt)) {
      const end = s.indexOf('?>', lt + 2);
      i = end < 0 ? s.length : end + 2;
      continue;
    }
    if (s.startsWith('<!', lt)) {
      // DOCTYPE, possibly with an internal subset [ … ] that may declare entities.
      const gt = s.indexOf('>', lt);
      // Only a "[" before this declaration's ">" opens an internal subset; look no further.
      const bracket = s.slice(lt, gt < 0 ? s.length : gt).indexOf('[');
      let end = gt;
      if (bracket >= 0) {
        const close = s.indexOf(']', lt + bracket);
        const subset = s.slice(lt + bracket, close < 0 ? s.length : close);
        if (subset.includes('<!ENTITY')) entities = true;
        end = close < 0 ? -1 : s.indexOf('>', close);
      }
      i = end < 0 ? s.length : end + 1;
      continue;
    }
    if (s[lt + 1] === '/') {
      const nameEnd = readName(s, lt + 2);
      const name = s.slice(lt + 2, nameEnd).toLowerCase();
      const idx = stack.lastIndexOf(name);
      if (idx >= 0) stack.length = idx;
      const gt = s.indexOf('>', nameEnd);
      i = gt < 0 ? s.length : gt + 1;
      continue;
    }
    // A start tag: name, attributes, then ">" or "/>".
    const nameEnd = readName(s, lt + 1);
    const qname = s.slice(lt + 1, nameEnd);
    const name = (qname.includes(':') ? qname.slice(qname.indexOf(':') + 1) : qname).toLowerCase();
    const attributes: Record<string, string> = {};
    let p = nameEnd;
    let selfClosing = false;
    for (;;) {
      p = skipSpace(s, p);
      if (p >= s.length) break;
      if (s[p] === '>') {
        p++;
        break;
      }
      if (s[p] === '/' && s[p + 1] === '>') {
        selfClosing = true;
        p += 2;
        break;
      }
      const attrEnd = readName(s, p);
      if (attrEnd === p) {
        p++; // stray character: skip it
        continue;
      }
      const attr = s.slice(p, attrEnd);
      p = skipSpace(s, attrEnd);
      let value = '';
      if (s[p] === '=') {
        p = skipSpace(s, p + 1);
        const quote = s[p];
        if (quote === '"' || quote === "'") {
          const close = s.indexOf(quote, p + 1);
          value = s.slice(p + 1, close < 0 ? s.length : close);
          p = close < 0 ? s.length : close + 1;
        } else {
          const end = readName(s, p);
          value = s.slice(p, end);
          p = end;
        }
      }
      attributes[attr] = value;
    }
    i = p;
    if (!name) continue;
    out.elements++;
    if (out.elements > MAX_ELEMENTS) {
      out.problems.push(`more than ${MAX_ELEMENTS} elements`);
      break;
    }
    if (!out.root) out.root = { name, attributes };
    else if (stack.length === 0) out.problems.push(`content after the root element (<${qname}>)`);
    if (FORBIDDEN.has(name)) forbiddenElements.add(name);
    if (name === 'title') out.hasTitle = true;
    for (const [attr, value] of Object.entries(attributes)) {
      const a = attr.toLowerCase();
      if (a.startsWith('on')) forbiddenAttributes.add(attr);
      if ((a === 'href' || a.endsWith(':href')) && !value.trim().startsWith('#')) external.add(value.trim());
      if (value.includes('url(')) externalUrls(value, external);
    }
    if (name === 'style' && !selfClosing) {
      const close = styleEnds.next(i);
      const css = s.slice(i, close < 0 ? s.length : close);
      externalUrls(css, external);
      if (css.includes('@import')) external.add('@import');
    }
    if (!selfClosing) {
      if (stack.length >= MAX_DEPTH) {
        out.problems.push(`elements nested more than ${MAX_DEPTH} deep`);
        break;
      }
      stack.push(name);
    }
  }
  out.forbiddenElements = [...forbiddenElements];
  out.forbiddenAttributes = [...forbiddenAttributes];
  out.externalReferences = [...external].slice(0, 10);

  const root = out.root;
  if (!root || root.name !== 'svg')
    out.problems.push('the document is not an SVG (its root element is not <svg>)');
  else {
    const attr = (n: string) => root.attributes[n];
    if (attr('baseProfile') !== 'tiny-ps')
      out.problems.push(
        `the root <svg> must have baseProfile="tiny-ps" (it has ${attr('baseProfile') === undefined ? 'none' : `"${attr('baseProfile')}"`})`,
      );
    if (attr('version') !== '1.2')
      out.problems.push(
        `the root <svg> must have version="1.2" (it has ${attr('version') === undefined ? 'none' : `"${attr('version')}"`})`,
      );
    if (attr('x') !== undefined || attr('y') !== undefined)
      out.problems.push('the root <svg> must not have x or y attributes');
    const vb = attr('viewBox');
    const box = vb === undefined ? undefined : parseViewBox(vb);
    if (box) out.viewBox = box;
    if (!box)
      out.problems.push(
        vb === undefined ? 'the root <svg> has no viewBox' : `the viewBox "${vb}" is not four numbers`,
      );
    else if (box.width !== box.height || box.width <= 0)
      out.problems.push(
        `the logo is not square (viewBox ${box.width} × ${box.height}); BIMI logos must be 1:1`,
      );
  }
  if (!out.hasTitle) out.problems.push('there is no <title> element (BIMI requires one, naming the brand)');
  if (out.forbiddenElements.length)
    out.problems.push(
      `it contains elements SVG Tiny PS forbids: ${out.forbiddenElements.map((e) => `<${e}>`).join(', ')}`,
    );
  if (out.forbiddenAttributes.length)
    out.problems.push(`it contains event-handler attributes: ${out.forbiddenAttributes.join(', ')}`);
  if (out.externalReferences.length)
    out.problems.push(`it refers to external resources: ${out.externalReferences.join(', ')}`);
  if (entities) out.problems.push('it declares XML entities in a DOCTYPE, which receivers refuse');
  return out;
}
