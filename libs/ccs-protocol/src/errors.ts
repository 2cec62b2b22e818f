/**
 * Typed errors of the protocol library: one class per failure, each keeping its `cause`
 * and the raw wire data it came from. Classify by class (`instanceof`) or `code`, never by message text.
 */

export const CcsErrorCode = {
  PayloadJson: "CCS_PAYLOAD_JSON",
  PayloadShape: "CCS_PAYLOAD_SHAPE",
  StanzaTooLarge: "CCS_STANZA_TOO_LARGE",
  StanzaTooDeep: "CCS_STANZA_TOO_DEEP",
  UnsafeXml: "CCS_UNSAFE_XML",
  XmlSyntax: "CCS_XML_SYNTAX",
  InvalidUtf8: "CCS_INVALID_UTF8",
  InvalidXmlChar: "CCS_INVALID_XML_CHAR",
  WriterOverflow: "CCS_WRITER_OVERFLOW",
  WriterClosed: "CCS_WRITER_CLOSED",
  InvalidOption: "CCS_INVALID_OPTION",
} as const;
export type CcsErrorCode = (typeof CcsErrorCode)[keyof typeof CcsErrorCode];

/** Base of every error this library throws or emits. */
export abstract class CcsProtocolError extends Error {
  abstract readonly code: CcsErrorCode;
}

/** A `<gcm>` payload that cannot be used: not JSON, or not the shape its kind requires. */
export abstract class CcsPayloadError extends CcsProtocolError {
  /** The JSON text as received (truncated to 1 KiB for logs). */
  readonly payload: string;
  constructor(message: string, payload: string, options?: ErrorOptions) {
    super(message, options);
    this.payload = payload.length > 1024 ? `${payload.slice(0, 1024)}…` : payload;
  }
}

export class PayloadJsonError extends CcsPayloadError {
  override readonly name = "PayloadJsonError";
  readonly code = CcsErrorCode.PayloadJson;
  static fromSyntaxError(payload: string, cause: unknown): PayloadJsonError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new PayloadJsonError(`payload is not valid JSON: ${detail}`, payload, { cause });
  }
}

export class PayloadShapeError extends CcsPayloadError {
  override readonly name = "PayloadShapeError";
  readonly code = CcsErrorCode.PayloadShape;
  /** JSON field at fault (`""` for the top level). */
  readonly field: string;
  constructor(field: string, expected: string, payload: string) {
    super(`payload field ${field === "" ? "(top level)" : `"${field}"`} must be ${expected}`, payload);
    this.field = field;
  }
}

/** Fatal errors of the XML stream reader; the reader stops reading after emitting one. */
export abstract class CcsStreamError extends CcsProtocolError {
  /** Offset in bytes from the start of the stream (since the last reset) where the fault was found. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(message, options);
    this.offset = offset;
  }
}

export class StanzaTooLargeError extends CcsStreamError {
  override readonly name = "StanzaTooLargeError";
  readonly code = CcsErrorCode.StanzaTooLarge;
  readonly limit: number;
  constructor(limit: number, offset: number) {
    super(`stanza exceeds ${limit} bytes`, offset);
    this.limit = limit;
  }
}

export class StanzaTooDeepError extends CcsStreamError {
  override readonly name = "StanzaTooDeepError";
  readonly code = CcsErrorCode.StanzaTooDeep;
  readonly limit: number;
  constructor(limit: number, offset: number) {
    super(`element nesting exceeds ${limit} levels`, offset);
    this.limit = limit;
  }
}

/** What restricted XML construct (RFC 6120 §11.1) was found. */
export const UnsafeXmlConstruct = {
  Doctype: "doctype",
  Comment: "comment",
  ProcessingInstruction: "processing-instruction",
  MarkupDeclaration: "markup-declaration",
} as const;
export type UnsafeXmlConstruct = (typeof UnsafeXmlConstruct)[keyof typeof UnsafeXmlConstruct];

export class UnsafeXmlError extends CcsStreamError {
  override readonly name = "UnsafeXmlError";
  readonly code = CcsErrorCode.UnsafeXml;
  readonly construct: UnsafeXmlConstruct;
  constructor(construct: UnsafeXmlConstruct, offset: number) {
    super(`restricted XML (${construct}) is not allowed in an XMPP stream`, offset);
    this.construct = construct;
  }
}

export class XmlSyntaxError extends CcsStreamError {
  override readonly name = "XmlSyntaxError";
  readonly code = CcsErrorCode.XmlSyntax;
}

export class InvalidUtf8Error extends CcsStreamError {
  override readonly name = "InvalidUtf8Error";
  readonly code = CcsErrorCode.InvalidUtf8;
}

/** A string given to a writer holds a character XML 1.0 cannot carry (C0 control, lone surrogate, U+FFFE/U+FFFF). */
export class InvalidXmlCharError extends CcsProtocolError {
  override readonly name = "InvalidXmlCharError";
  readonly code = CcsErrorCode.InvalidXmlChar;
  readonly index: number;
  constructor(index: number) {
    super(`character at index ${index} cannot be written in XML 1.0`);
    this.index = index;
  }
}

/** StanzaBatchWriter: more bytes queued behind a blocked sink than `maxQueuedBytes`. */
export class WriterOverflowError extends CcsProtocolError {
  override readonly name = "WriterOverflowError";
  readonly code = CcsErrorCode.WriterOverflow;
  readonly limit: number;
  constructor(limit: number) {
    super(`more than ${limit} bytes queued behind a blocked sink`);
    this.limit = limit;
  }
}

export class WriterClosedError extends CcsProtocolError {
  override readonly name = "WriterClosedError";
  readonly code = CcsErrorCode.WriterClosed;
  constructor() {
    super("the writer is closed");
  }
}

export class InvalidOptionError extends CcsProtocolError {
  override readonly name = "InvalidOptionError";
  readonly code = CcsErrorCode.InvalidOption;
  readonly option: string;
  constructor(option: string, requirement: string) {
    super(`option ${option} ${requirement}`);
    this.option = option;
  }
}

export function isCcsProtocolError(err: unknown): err is CcsProtocolError {
  return err instanceof CcsProtocolError;
}
export function isCcsStreamError(err: unknown): err is CcsStreamError {
  return err instanceof CcsStreamError;
}
export function isCcsPayloadError(err: unknown): err is CcsPayloadError {
  return err instanceof CcsPayloadError;
}
