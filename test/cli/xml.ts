/**
 * A minimal XML well-formedness check for the SVG tests (no dependency): one root element,
 * balanced and properly nested tags, quoted attributes without duplicates, only the predefined or
 * numeric entities, no raw '<' or '&' in text or attribute values. Returns the element names
 * (with their attributes) in document order; throws on the first problem.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;

function checkText(s: string, where: number): void {
  if (s.includes('<')) throw new Error(`raw '<' in text near offset ${where}`);
  const amp = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(s);
  if (amp) throw new Error(`bad entity or raw '&' near offset ${where + amp.index}: ${JSON.stringify(s.slice(amp.index, amp.index + 12))}`);
}

export function parseXml(doc: string): XmlElement[] {
  let i = 0;
  const stack: string[] = [];
  const out: XmlElement[] = [];
  let roots = 0;
  if (doc.startsWith('<?xml')) {
    const e = doc.indexOf('?>');
    if (e < 0) throw new Error('unterminated XML declaration');
    i = e + 2;
  }
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = lt < 0 ? doc.slice(i) : doc.slice(i, lt);
    checkText(text, i);
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root element near offset ${i}`);
    if (lt < 0) break;
    if (doc.startsWith('<!--', lt)) {
      const e = doc.indexOf('-->', lt);
      if (e < 0) throw new Error('unterminated comment');
      i = e + 3;
      continue;
    }
    if (doc.startsWith('</', lt)) {
      const e = doc.indexOf('>', lt);
      const name = doc.slice(lt + 2, e).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`closing </${name}> does not match <${open ?? '(none)'}> near offset ${lt}`);
      i = e + 1;
      continue;
    }
    // start tag
    let j = lt + 1;
    const m = NAME.exec(doc.slice(j));
    if (!m) throw new Error(`bad tag name near offset ${lt}`);
    const name = m[0];
    j += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      while (/\s/.test(doc[j] ?? '')) j++;
      if (doc[j] === '>' || doc.startsWith('/>', j)) break;
      const am = NAME.exec(doc.slice(j));
      if (!am) throw new Error(`bad attribute in <${name}> near offset ${j}: ${JSON.stringify(doc.slice(j, j + 20))}`);
      const an = am[0];
      j += an.length;
      if (doc[j] !== '=') throw new Error(`attribute ${an} of <${name}> has no value near offset ${j}`);
      j++;
      const q = doc[j];
      if (q !== '"' && q !== "'") throw new Error(`attribute ${an} of <${name}> is not quoted near offset ${j}`);
      const e = doc.indexOf(q, j + 1);
      if (e < 0) throw new Error(`unterminated attribute ${an} of <${name}>`);
      const v = doc.slice(j + 1, e);
      checkText(v, j + 1);
      if (an in attrs) throw new Error(`duplicate attribute ${an} in <${name}>`);
      attrs[an] = v;
      j = e + 1;
    }
    const selfClosing = doc.startsWith('/>', j);
    if (stack.length === 0) {
      roots++;
      if (roots > 1) throw new Error('more than one root element');
    }
    out.push({ name, attrs });
    if (!selfClosing) stack.push(name);
    i = j + (selfClosing ? 2 : 1);
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]}>`);
  if (roots !== 1) throw new Error('no root element');
  return out;
}
