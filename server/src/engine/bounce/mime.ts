/**
 * A small, bounded MIME reader for bounce messages: headers (unfolded, RFC 2047 words decoded),
 * transfer decoding (base64, quoted-printable), charsets (TextDecoder, latin1 fallback) and
 * multipart / message/rfc822 nesting. Never throws on garbage; depth and part counts are capped.
 */

export interface MimeHeader {
  name: string;
  value: string;
}

export interface MimePart {
  headers: MimeHeader[];
  /** Lower-cased media type, "text/plain" when absent. */
  contentType: string;
  params: Record<string, string>;
  /** Decoded text of a leaf part (empty for multiparts). */
  body: string;
  children: MimePart[];
}

const MAX_DEPTH = 8;
const MAX_PARTS = 200;
/** Header fields read from one block (a DSN of 100 recipients has well under this). */
const MAX_FIELDS = 2000;
/** Characters kept of one (unfolded) header value: longer ones are cut, so later patterns see little. */
const MAX_VALUE = 16 * 1024;

/** Header lookup (case-insensitive), first occurrence. */
export function header(part: { headers: MimeHeader[] }, name: string): string | null {
  const lower = name.toLowerCase();
  for (const h of part.headers) if (h.name === lower) return h.value;
  return null;
}

export function headerAll(part: { headers: MimeHeader[] }, name: string): string[] {
  const lower = name.toLowerCase();
  return part.headers.filter((h) => h.name === lower).map((h) => h.value);
}

function decodeBytes(bytes: Buffer, charset: string | undefined): string {
  const cs = (charset ?? 'utf-8').trim().toLowerCase().replace(/^"|"$/g, '');
  if (cs === 'us-ascii' || cs === 'ascii' || cs === '' || cs === 'utf-8' || cs === 'utf8') {
    return bytes.toString('utf8');
  }
  try {
    return new TextDecoder(cs).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** The value of a hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Quoted-printable to bytes: one pass over char codes into a preallocated buffer (linear, no per-character regex). */
function decodeQp(text: string): Buffer {
  const cleaned = text.replace(/=\r?\n/g, '');
  // A character above 255 (a string that was not latin1) takes up to 3 UTF-8 bytes.
  const out = Buffer.allocUnsafe(cleaned.length * 3);
  let n = 0;
  for (let i = 0; i < cleaned.length; i++) {
    const c = cleaned.charCodeAt(i);
    if (c === 61 /* = */ && i + 2 < cleaned.length) {
      const hi = hexValue(cleaned.charCodeAt(i + 1));
      const lo = hexValue(cleaned.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    if (c < 256) out[n++] = c;
    else n += out.write(cleaned[i] ?? '', n, 'utf8');
  }
  return out.subarray(0, n);
}

/** Decodes RFC 2047 encoded words (=?charset?B|Q?...?=). */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  return value
    .replace(/(=\?[^?\s]{1,40}\?[BbQq]\?[^?\s]{0,2000}\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?\s]{1,40})\?([BbQq])\?([^?\s]{0,2000})\?=/g, (_m, cs: string, enc: string, data: string) => {
      try {
        const charset = cs.split('*')[0];
        const bytes = enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : decodeQp(data.replace(/_/g, ' '));
        return decodeBytes(bytes, charset);
      } catch {
        return data;
      }
    });
}

/** Raw 8-bit header text (read as latin1) that is valid UTF-8, as UTF-8 (RFC 6532 headers). */
function utf8IfValid(value: string): string {
  if (!/[\x80-\xff]/.test(value)) return value;
  const text = Buffer.from(value, 'latin1').toString('utf8');
  return text.includes('\uFFFD') ? value : text;
}

/** Splits a header block (already separated from the body) into unfolded fields. */
export function parseHeaderBlock(block: string): MimeHeader[] {
  const headers: MimeHeader[] = [];
  const lines = block.split(/\r?\n/);
  let current: MimeHeader | null = null;
  for (const line of lines) {
    if (/^[ \t]/.test(line) && current) {
      if (current.value.length < MAX_VALUE) current.value += ' ' + line.trim();
      continue;
    }
    if (headers.length >= MAX_FIELDS) break;
    const m = /^([!-9;-~]{1,100}):[ \t]?(.*)$/.exec(line);
    if (m) {
      current = { name: (m[1] ?? '').toLowerCase(), value: (m[2] ?? '').slice(0, MAX_VALUE).trim() };
      headers.push(current);
    } else {
      current = null;
    }
  }
  for (const h of headers) h.value = decodeWords(utf8IfValid(h.value.slice(0, MAX_VALUE)));
  return headers;
}

/** Parses "type/sub; a=b; c="d"" into the type and its parameters. */
export function parseContentType(value: string | null): { type: string; params: Record<string, string> } {
  if (!value) return { type: 'text/plain', params: {} };
  const [first = '', ...rest] = value.slice(0, 4000).split(';');
  // "text/plain charset=..." (a missing semicolon): the media type is the first word, the rest parameters.
  const typeMatch = /^\s*([A-Za-z0-9!#$&^_.+-]{1,80}\/[A-Za-z0-9!#$&^_.+-]{1,120})/.exec(first);
  const type = typeMatch?.[1] ?? first.trim();
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9*_.-]{1,60})\s*=\s*("(?:[^"\\]|\\.){0,1000}"|[^;\s]{0,1000})/g;
  const tail = (typeMatch ? first.slice(typeMatch[0].length) + ';' : '') + rest.join(';');
  let m: RegExpExecArray | null;
  while ((m = re.exec(tail)) !== null) {
    const key = (m[1] ?? '').toLowerCase().replace(/\*0?\*?$/, '');
    let val = m[2] ?? '';
    if (val.startsWith('"')) val = val.slice(1, -1).replace(/\\(.)/g, '$1');
    if (!(key in params)) params[key] = val;
  }
  return { type: type.toLowerCase() || 'text/plain', params };
}

/** Splits raw text into its header block and body at the first blank line. */
export function splitHeaderBody(raw: string): { head: string; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { head: raw, body: '' };
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

function decodeBody(body: string, cte: string | null, charset: string | undefined): string {
  const enc = (cte ?? '').trim().toLowerCase();
  if (enc === 'base64') {
    return decodeBytes(Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'), charset);
  }
  if (enc === 'quoted-printable') return decodeBytes(decodeQp(body), charset);
  // 7bit/8bit/binary: the raw string holds bytes as latin1 characters.
  return decodeBytes(Buffer.from(body, 'latin1'), charset);
}

interface Budget {
  parts: number;
}

function parseEntity(raw: string, depth: number, budget: Budget, defaultType = 'text/plain'): MimePart {
  budget.parts++;
  const { head, body } = splitHeaderBody(raw);
  const headers = parseHeaderBlock(head);
  const ctHeader = header({ headers }, 'content-type');
  const { type, params } = ctHeader ? parseContentType(ctHeader) : { type: defaultType, params: {} };
  const part: MimePart = { headers, contentType: type, params, body: '', children: [] };
  const cte = header({ headers }, 'content-transfer-encoding');

  if (type.startsWith('multipart/') && params.boundary && depth < MAX_DEPTH) {
    const boundary = params.boundary;
    const delimiter = '--' + boundary;
    const segments = body.split(delimiter);
    // segments[0] is the preamble; the last one starting with "--" is the epilogue.
    let preamble = segments[0] ?? '';
    if (segments.length === 1) {
      part.body = decodeBody(body, cte, params.charset);
      return part;
    }
    for (let i = 1; i < segments.length && budget.parts < MAX_PARTS; i++) {
      const seg = segments[i] ?? '';
      if (seg.startsWith('--')) break;
      const content = seg.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, '');
      const childDefault = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
      part.children.push(parseEntity(content, depth + 1, budget, childDefault));
    }
    preamble = preamble.trim();
    if (preamble) part.body = preamble;
    return part;
  }
  if ((type === 'message/rfc822' || type === 'message/global') && depth < MAX_DEPTH) {
    const inner = /^(base64|quoted-printable)$/i.test((cte ?? '').trim())
      ? Buffer.from(decodeBody(body, cte, 'latin1'), 'latin1').toString('latin1')
      : body;
    part.children.push(parseEntity(inner, depth + 1, budget));
    return part;
  }
  part.body = decodeBody(body, cte, params.charset);
  return part;
}

/** Parses a whole message (a latin1 "binary string"). */
export function parseMime(raw: string): MimePart {
  return parseEntity(raw, 0, { parts: 0 });
}

/** Depth-first walk over every part, the root included. */
export function walk(
  part: MimePart,
  visit: (p: MimePart, parent: MimePart | null) => void,
  parent: MimePart | null = null
): void {
  visit(part, parent);
  for (const c of part.children) walk(c, visit, part);
}
