// Types for the parts of @xmpp/xml 0.14 (ltx 3 Element) this library uses; the package ships none.
declare module "@xmpp/xml" {
  import { EventEmitter } from "node:events";

  export class Element {
    constructor(name: string, attrs?: Record<string, string>);
    name: string;
    attrs: Record<string, string>;
    children: Array<Element | string>;
    parent: Element | null;
    /** Local name matches and, when given, the resolved namespace matches. */
    is(name: string, xmlns?: string): boolean;
    /** Local name (prefix removed). */
    getName(): string;
    /** Resolved namespace, prefixes and inherited `xmlns` included. */
    getNS(): string | undefined;
    getAttr(name: string, xmlns?: string): string | null | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    /** Concatenated text children (entities already decoded). */
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    text(): string;
    toString(): string;
  }

  export class Parser extends EventEmitter {
    constructor();
    write(data: string): void;
    end(data?: string): void;
  }

  export class XMLError extends Error {}

  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  export function unescapeXML(s: string): string;
  export function unescapeXMLText(s: string): string;
}
