/**
 * A small, strict XML parser for annotation files (PASCAL VOC). It reads elements, attributes,
 * text, the five predefined entities and numeric character references, comments, CDATA sections,
 * processing instructions and the XML declaration. It rejects what it does not read — a DOCTYPE
 * (so no entity definitions or expansion), an unclosed or mismatched tag, a duplicated attribute,
 * an unknown entity, markup after the root element — with a DataFormatError naming the file, the
 * line and the tag. Browser-safe, no dependencies.
 */
import { DataFormatError, preview } from '../data/errors';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (not its children's), entities decoded, untrimmed. */
  text: string;
  /** 1-based line of the start tag. */
  line: number;
}

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9_:.-]/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** Nesting deeper than this is refused (annotation files are 4 levels deep). */
const MAX_DEPTH = 256;

/** Decodes UTF-8 bytes strictly (a BOM is dropped); invalid UTF-8 throws DataFormatError. */
export function decodeUtf8(bytes: Uint8Array, fileName: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new DataFormatError(fileName, 'not valid UTF-8 text');
  }
}

/** Parses a whole XML document and returns its root element. */
export function parseXml(text: string, fileName: string): XmlElement {
  let pos = 0;
  let line = 1;
  const n = text.length;
  const fail = (detail: string, at = line): never => {
    throw new DataFormatError(fileName, `malformed XML at line ${at}: ${detail}`);
  };
  const advanceTo = (end: number): void => {
    for (let i = pos; i < end; i++) if (text.charCodeAt(i) === 10) line++;
    pos = end;
  };
  const readName = (what: string): string => {
    const start = pos;
    if (pos >= n || !NAME_START.test(text[pos]!)) fail(`expected ${what}, found ${pos >= n ? 'the end of the file' : preview(text.slice(pos, pos + 10))}`);
    pos++;
    while (pos < n && NAME_CHAR.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  const skipSpace = (): void => {
    let i = pos;
    while (i < n && /\s/.test(text[i]!)) i++;
    advanceTo(i);
  };
  const decodeEntities = (raw: string, where: string, at: number): string => {
    if (raw.indexOf('&') < 0) return raw;
    return raw.replace(/&([^;&\s<]{0,12});?/g, (m, body: string) => {
      if (!m.endsWith(';')) fail(`${where}: '&' that does not start an entity (write &amp;)`, at);
      if (body in ENTITIES) return ENTITIES[body]!;
      const num = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
      if (num) {
        const cp = num[1] !== undefined ? parseInt(num[1], 16) : parseInt(num[2]!, 10);
        if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(`${where}: character reference &${body}; is not a valid character`, at);
        return String.fromCodePoint(cp);
      }
      return fail(`${where}: unknown entity &${body}; (only &amp; &lt; &gt; &quot; &apos; and &#…; are read)`, at);
    });
  };
  /** Skips a comment, PI or CDATA at pos if there is one; returns CDATA text, '' for others, null if none. */
  const skipSpecial = (): string | null => {
    if (text.startsWith('<!--', pos)) {
      const end = text.indexOf('-->', pos + 4);
      if (end < 0) fail('a comment <!-- is never closed with -->');
      advanceTo(end + 3);
      return '';
    }
    if (text.startsWith('<?', pos)) {
      const end = text.indexOf('?>', pos + 2);
      if (end < 0) fail('a processing instruction <? is never closed with ?>');
      advanceTo(end + 2);
      return '';
    }
    if (text.startsWith('<![CDATA[', pos)) {
      const end = text.indexOf(']]>', pos + 9);
      if (end < 0) fail('a <![CDATA[ section is never closed with ]]>');
      const body = text.slice(pos + 9, end);
      advanceTo(end + 3);
      return body;
    }
    if (text.startsWith('<!', pos)) fail(`${preview(text.slice(pos, pos + 12))} is not supported (no DOCTYPE or declarations)`);
    return null;
  };

  // prolog
  if (text.charCodeAt(0) === 0xfeff) pos = 1;
  for (;;) {
    skipSpace();
    if (pos >= n) fail('no root element (the file holds no tag)');
    if (text[pos] !== '<') fail(`text ${preview(text.slice(pos, pos + 20))} before the root element`);
    const special = skipSpecial();
    if (special === null) break;
    if (special !== '') fail('a CDATA section before the root element');
  }

  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  while (pos < n) {
    if (text[pos] !== '<') {
      const end = text.indexOf('<', pos);
      const stop = end < 0 ? n : end;
      const raw = text.slice(pos, stop);
      const at = line;
      advanceTo(stop);
      if (stack.length === 0) {
        if (raw.trim() !== '') fail(`text ${preview(raw.trim())} after the root element </${root!.name}>`, at);
        continue;
      }
      if (raw.indexOf('>') >= 0 && raw.indexOf(']]>') >= 0) fail(`']]>' in the text of <${stack[stack.length - 1]!.name}>`, at);
      stack[stack.length - 1]!.text += decodeEntities(raw, `in the text of <${stack[stack.length - 1]!.name}>`, at);
      continue;
    }
    const special = skipSpecial();
    if (special !== null) {
      if (special !== '') {
        if (stack.length === 0) fail('a CDATA section after the root element');
        stack[stack.length - 1]!.text += special;
      }
      continue;
    }
    if (text[pos + 1] === '/') {
      const at = line;
      pos += 2;
      const name = readName('a tag name after </');
      skipSpace();
      if (text[pos] !== '>') fail(`closing tag </${name}> is not ended by '>'`, at);
      pos++;
      const open = stack.pop();
      if (!open) fail(`closing tag </${name}> without an opening tag`, at);
      if (open!.name !== name) fail(`closing tag </${name}> does not match <${open!.name}> opened at line ${open!.line}`, at);
      continue;
    }
    if (stack.length === 0 && root) fail(`a second root element after </${root.name}>`);
    const at = line;
    pos++;
    const name = readName("a tag name after '<'");
    const el: XmlElement = { name, attributes: {}, children: [], text: '', line: at };
    let selfClosing = false;
    for (;;) {
      const before = pos;
      skipSpace();
      if (pos >= n) fail(`tag <${name}> is not ended by '>' before the end of the file`, at);
      if (text[pos] === '>') {
        pos++;
        break;
      }
      if (text.startsWith('/>', pos)) {
        pos += 2;
        selfClosing = true;
        break;
      }
      if (pos === before) fail(`in tag <${name}>: expected a space, '>' or '/>' after ${Object.keys(el.attributes).length ? 'an attribute' : 'the name'}, found ${preview(text.slice(pos, pos + 10))}`);
      const attr = readName(`an attribute name in <${name}>`);
      skipSpace();
      if (text[pos] !== '=') fail(`in tag <${name}>: attribute ${attr} has no '=' and value`);
      pos++;
      skipSpace();
      const q = text[pos];
      if (q !== '"' && q !== "'") fail(`in tag <${name}>: the value of attribute ${attr} is not quoted`);
      const end = text.indexOf(q!, pos + 1);
      if (end < 0) fail(`in tag <${name}>: the value of attribute ${attr} is never closed`);
      const raw = text.slice(pos + 1, end);
      if (raw.indexOf('<') >= 0) fail(`in tag <${name}>: '<' in the value of attribute ${attr}`);
      if (Object.prototype.hasOwnProperty.call(el.attributes, attr)) fail(`in tag <${name}>: attribute ${attr} appears twice`);
      el.attributes[attr] = decodeEntities(raw, `in attribute ${attr} of <${name}>`, line);
      advanceTo(end + 1);
    }
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else root = el;
    if (!selfClosing) {
      if (stack.length >= MAX_DEPTH) fail(`elements nested more than ${MAX_DEPTH} deep`, at);
      stack.push(el);
    }
  }
  if (stack.length > 0) {
    const open = stack[stack.length - 1]!;
    fail(`the file ends inside <${open.name}> opened at line ${open.line} (no </${open.name}>)`);
  }
  if (!root) fail('no root element');
  return root!;
}
