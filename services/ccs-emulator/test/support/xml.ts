/**
 * Minimal XML for the conformance suite, written independently of the emulator and of @ccs/ccs-protocol:
 * an incremental splitter that cuts an XMPP stream into top-level events (stream header, stanzas,
 * whitespace keepalives, stream close), and a small namespace-aware parser for one complete stanza.
 * It only has to read what a CCS server writes; it is strict enough to notice malformed output.
 */

export const NS = {
  client: "jabber:client",
  stream: "http://etherx.jabber.org/streams",
  streams: "urn:ietf:params:xml:ns:xmpp-streams",
  sasl: "urn:ietf:params:xml:ns:xmpp-sasl",
  tls: "urn:ietf:params:xml:ns:xmpp-tls",
  bind: "urn:ietf:params:xml:ns:xmpp-bind",
  session: "urn:ietf:params:xml:ns:xmpp-session",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
  ping: "urn:xmpp:ping",
  gcm: "google:mobile:data",
  xml: "http://www.w3.org/XML/1998/namespace",
} as const;

/** One top-level item of the server's stream. `raw` is exactly what the server wrote. */
export type StreamItem =
  | { readonly kind: "stream-open"; readonly raw: string; readonly attrs: Readonly<Record<string, string>> }
  | { readonly kind: "stanza"; readonly raw: string; readonly el: XmlElement }
  | { readonly kind: "whitespace"; readonly raw: string }
  | { readonly kind: "stream-close"; readonly raw: string }
  | { readonly kind: "declaration"; readonly raw: string }
  | { readonly kind: "junk"; readonly raw: string };

export interface XmlElement {
  /** Qualified name as written (`str:features`). */
  readonly name: string;
  readonly local: string;
  readonly prefix: string | undefined;
  /** Resolved namespace URI, `undefined` when the prefix is not declared. */
  readonly ns: string | undefined;
  /** Attributes by qualified name, entity-decoded (namespace declarations included). */
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Concatenated, entity-decoded direct text content. */
  readonly text: string;
}

export type NamespaceScope = Readonly<Record<string, string>>;

/** Raised when the server writes something this parser cannot read as XML. */
export class XmlSyntaxError extends Error {
  readonly input: string;
  constructor(message: string, input: string) {
    super(`${message} in ${JSON.stringify(input.slice(0, 300))}`);
    this.name = "XmlSyntaxError";
    this.input = input;
  }
}

const ENTITY: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITY[ref] ?? whole;
  });
}

/** Escapes character data for element content (what Smack's escapeForXML does, minus quotes). */
export function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function escapeAttr(text: string): string {
  return escapeText(text).replace(/"/g, "&quot;");
}

/** Index just past the `>` closing the tag that starts at `start`, or -1 when the tag is incomplete. */
function tagEnd(buf: string, start: number): number {
  let quote = "";
  for (let i = start + 1; i < buf.length; i++) {
    const c = buf[i];
    if (quote !== "") {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ">") {
      return i + 1;
    }
  }
  return -1;
}

function tagName(tag: string): string {
  const m = /^<\/?([^\s/>]+)/.exec(tag);
  return m?.[1] ?? "";
}

function localName(qname: string): string {
  const i = qname.indexOf(":");
  return i < 0 ? qname : qname.slice(i + 1);
}

/** Attributes of one start tag (`<name a="1" b='2'>`), entity-decoded. */
export function parseAttributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const body = tag.replace(/^<[^\s/>]+/, "").replace(/\/?>$/, "");
  const re = /([^\s=]+)\s*=\s*("([^"]*)"|'([^']*)')/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    const name = m[1] ?? "";
    attrs[name] = decodeEntities(m[3] ?? m[4] ?? "");
  }
  return attrs;
}

/**
 * Incremental splitter. Feed it decoded text in any chunking; it returns the items completed so far.
 * Depth is counted from the stream element: a stanza is a complete element at depth 0 inside the stream.
 */
export class StreamSplitter {
  #buf = "";
  #pos = 0;
  #depth = 0;
  #stanzaStart = 0;

  push(chunk: string): StreamItem[] {
    this.#buf += chunk;
    const out: StreamItem[] = [];
    const buf = this.#buf;
    for (;;) {
      if (this.#pos >= buf.length) break;
      if (this.#depth === 0) {
        const c = buf[this.#pos];
        if (c !== "<") {
          const next = buf.indexOf("<", this.#pos);
          const end = next < 0 ? buf.length : next;
          const raw = buf.slice(this.#pos, end);
          out.push(/^\s+$/.test(raw) ? { kind: "whitespace", raw } : { kind: "junk", raw });
          this.#pos = end;
          continue;
        }
        const special = this.#skipSpecial(buf, this.#pos);
        if (special === -1) break;
        if (special > 0) {
          const raw = buf.slice(this.#pos, special);
          if (raw.startsWith("<?")) out.push({ kind: "declaration", raw });
          else out.push({ kind: "junk", raw });
          this.#pos = special;
          continue;
        }
        const end = tagEnd(buf, this.#pos);
        if (end < 0) break;
        const tag = buf.slice(this.#pos, end);
        if (tag.startsWith("</")) {
          out.push({ kind: "stream-close", raw: tag });
        } else if (localName(tagName(tag)) === "stream" && !tag.endsWith("/>")) {
          out.push({ kind: "stream-open", raw: tag, attrs: parseAttributes(tag) });
        } else if (tag.endsWith("/>")) {
          out.push(stanzaItem(tag));
        } else {
          this.#stanzaStart = this.#pos;
          this.#depth = 1;
        }
        this.#pos = end;
        continue;
      }
      const lt = buf.indexOf("<", this.#pos);
      if (lt < 0) {
        this.#pos = buf.length;
        break;
      }
      const special = this.#skipSpecial(buf, lt);
      if (special === -1) {
        this.#pos = lt;
        break;
      }
      if (special > 0) {
        this.#pos = special;
        continue;
      }
      const end = tagEnd(buf, lt);
      if (end < 0) {
        this.#pos = lt;
        break;
      }
      const tag = buf.slice(lt, end);
      if (tag.startsWith("</")) this.#depth -= 1;
      else if (!tag.endsWith("/>")) this.#depth += 1;
      this.#pos = end;
      if (this.#depth === 0) out.push(stanzaItem(buf.slice(this.#stanzaStart, end)));
    }
    const keepFrom = this.#depth > 0 ? this.#stanzaStart : this.#pos;
    this.#buf = buf.slice(keepFrom);
    this.#pos -= keepFrom;
    this.#stanzaStart -= keepFrom;
    return out;
  }

  /** Returns the end of a comment/CDATA/PI/DOCTYPE starting at `i`, 0 if none starts there, -1 if incomplete. */
  #skipSpecial(buf: string, i: number): number {
    const rest = buf.slice(i, i + 9);
    const find = (close: string): number => {
      const j = buf.indexOf(close, i);
      return j < 0 ? -1 : j + close.length;
    };
    if (rest.startsWith("<!--")) return find("-->");
    if (rest.startsWith("<![CDATA[")) return find("]]>");
    if (rest.startsWith("<?")) return find("?>");
    if (rest.startsWith("<!")) return tagEnd(buf, i);
    return 0;
  }
}

function stanzaItem(raw: string): StreamItem {
  return { kind: "stanza", raw, el: parseElement(raw, DEFAULT_SCOPE) };
}

/** Namespaces in scope for a stanza of a client-to-server stream opened the usual way. */
export const DEFAULT_SCOPE: NamespaceScope = { "": NS.client, stream: NS.stream, xml: NS.xml };

/** Parses one complete element (a stanza) into a tree, resolving namespaces against `scope`. */
export function parseElement(raw: string, scope: NamespaceScope = DEFAULT_SCOPE): XmlElement {
  const state = { pos: 0 };
  const skipMisc = (): void => {
    for (;;) {
      const m = /^\s*/.exec(raw.slice(state.pos));
      state.pos += m?.[0].length ?? 0;
      if (raw.startsWith("<?", state.pos) || raw.startsWith("<!--", state.pos)) {
        const close = raw.startsWith("<?", state.pos) ? "?>" : "-->";
        const j = raw.indexOf(close, state.pos);
        if (j < 0) throw new XmlSyntaxError("unterminated declaration", raw);
        state.pos = j + close.length;
        continue;
      }
      return;
    }
  };
  skipMisc();
  const el = parseAt(raw, state, scope);
  skipMisc();
  if (state.pos !== raw.length) throw new XmlSyntaxError("trailing content after the element", raw);
  return el;
}

function parseAt(raw: string, state: { pos: number }, parentScope: NamespaceScope): XmlElement {
  if (raw[state.pos] !== "<") throw new XmlSyntaxError("expected '<'", raw.slice(state.pos));
  const end = tagEnd(raw, state.pos);
  if (end < 0) throw new XmlSyntaxError("unterminated start tag", raw.slice(state.pos));
  const tag = raw.slice(state.pos, end);
  state.pos = end;
  const name = tagName(tag);
  const attrs = parseAttributes(tag);
  const scope: Record<string, string> = { ...parentScope };
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "xmlns") scope[""] = v;
    else if (k.startsWith("xmlns:")) scope[k.slice(6)] = v;
  }
  const colon = name.indexOf(":");
  const prefix = colon < 0 ? undefined : name.slice(0, colon);
  const local = colon < 0 ? name : name.slice(colon + 1);
  const ns = scope[prefix ?? ""];
  const children: XmlElement[] = [];
  let text = "";
  if (!tag.endsWith("/>")) {
    for (;;) {
      const lt = raw.indexOf("<", state.pos);
      if (lt < 0) throw new XmlSyntaxError(`unclosed <${name}>`, raw);
      text += decodeEntities(raw.slice(state.pos, lt));
      state.pos = lt;
      if (raw.startsWith("</", lt)) {
        const close = tagEnd(raw, lt);
        if (close < 0) throw new XmlSyntaxError("unterminated end tag", raw);
        const closeName = tagName(raw.slice(lt, close));
        if (closeName !== name) throw new XmlSyntaxError(`</${closeName}> closes <${name}>`, raw);
        state.pos = close;
        break;
      }
      if (raw.startsWith("<![CDATA[", lt)) {
        const j = raw.indexOf("]]>", lt);
        if (j < 0) throw new XmlSyntaxError("unterminated CDATA", raw);
        text += raw.slice(lt + 9, j);
        state.pos = j + 3;
        continue;
      }
      if (raw.startsWith("<!--", lt)) {
        const j = raw.indexOf("-->", lt);
        if (j < 0) throw new XmlSyntaxError("unterminated comment", raw);
        state.pos = j + 3;
        continue;
      }
      children.push(parseAt(raw, state, scope));
    }
  }
  return { name, local, prefix, ns, attrs, children, text };
}

/** First child with this local name (and namespace when given). */
export function child(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  return el.children.find((c) => c.local === local && (ns === undefined || c.ns === ns));
}
