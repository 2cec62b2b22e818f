// Public API of @ccs/ccs-protocol: named re-exports only.

export type { BatchWriterState, StanzaBatchWriterOptions, StanzaSink } from "./batch-writer.ts";
export { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_QUEUED_BYTES, StanzaBatchWriter } from "./batch-writer.ts";
export {
  CCS_DEVICES_JID,
  CCS_DOMAIN,
  CCS_HOST,
  CCS_PORT,
  CCS_PREPROD_HOST,
  CCS_PREPROD_PORT,
  CCS_RECEIPT_FROM,
  CONTROL_CONNECTION_DRAINING,
  DEFAULT_MAX_PENDING_MESSAGES,
  GCM_ELEMENT,
  GCM_NAMESPACE,
  LEGACY_MAX_PENDING_MESSAGES,
  MESSAGE_SENT_TO_DEVICE,
  NS_BIND,
  NS_CLIENT,
  NS_PING,
  NS_SASL,
  NS_SESSION,
  NS_STANZAS,
  NS_STREAM,
  NS_STREAMS_ERRORS,
  RECEIPT_MESSAGE_ID_PREFIX,
} from "./constants.ts";
export {
  gcmPayloadOf,
  isMessageStanza,
  readClientMessage,
  readServerMessage,
  stanzaErrorOf,
} from "./elements.ts";
export {
  CcsErrorCode,
  CcsPayloadError,
  CcsProtocolError,
  CcsStreamError,
  InvalidOptionError,
  InvalidUtf8Error,
  InvalidXmlCharError,
  isCcsPayloadError,
  isCcsProtocolError,
  isCcsStreamError,
  PayloadJsonError,
  PayloadShapeError,
  StanzaTooDeepError,
  StanzaTooLargeError,
  UnsafeXmlConstruct,
  UnsafeXmlError,
  WriterClosedError,
  WriterOverflowError,
  XmlSyntaxError,
} from "./errors.ts";
export { escapeXmlAttr, escapeXmlText } from "./escape.ts";
export type {
  AckMessage,
  AckPayload,
  BadAckClientMessage,
  ClientMessage,
  ControlMessage,
  ControlPayload,
  DownstreamClientMessage,
  DownstreamRequest,
  NackMessage,
  NackPayload,
  ReceiptData,
  ReceiptMessage,
  ReceiptPayload,
  ServerMessage,
  StanzaErrorInfo,
  StanzaErrorMessage,
  UnknownClientMessage,
  UnknownServerMessage,
  UpstreamAckClientMessage,
  UpstreamAckPayload,
  UpstreamMessage,
  UpstreamPayload,
} from "./messages.ts";
export type { NackCodeInfo } from "./nack-codes.ts";
export {
  DEFAULT_INTERNAL_ERROR_MAX_RETRIES,
  isNackCode,
  isPermanentTokenError,
  isRetryable,
  NACK_CODES,
  NackCode,
  normalizeNackCode,
  RetryClass,
  retryClassOf,
  SERVICE_UNAVAILABLE_INITIAL_BACKOFF_MS,
} from "./nack-codes.ts";
export { InvalidJsonKind, JsonJavaType, NACK_TEXTS, rawValueText } from "./nack-texts.ts";
export { parseClientPayload } from "./parse-client.ts";
export { parseServerPayload } from "./parse-server.ts";
export type { StanzaReaderEvents, StanzaReaderOptions, StanzaReaderState } from "./reader.ts";
export {
  DEFAULT_MAX_STANZA_BYTES,
  DEFAULT_MAX_STANZA_DEPTH,
  MAX_STANZA_BYTES_CEILING,
  MAX_STANZA_DEPTH_CEILING,
  StanzaReader,
} from "./reader.ts";
export {
  isTopicDestination,
  isWellFormedRegistrationToken,
  REGISTRATION_TOKEN_MAX_LENGTH,
  REGISTRATION_TOKEN_MIN_LENGTH,
  TOPIC_PREFIX,
} from "./registration-token.ts";
export type { DownstreamRejection, DownstreamValidation } from "./validation.ts";
export {
  badRequest,
  DATA_MAX_BYTES,
  isReservedDataKey,
  MAX_COLLAPSE_KEYS_PER_DEVICE,
  TTL_MAX_SECONDS,
  validateDownstream,
} from "./validation.ts";
export type { ReceiptFields, StanzaAttrs, StreamHeaderAttrs, UpstreamFields } from "./writer.ts";
export {
  ackStanza,
  controlStanza,
  downstreamStanza,
  gcmMessageStanza,
  nackStanza,
  receiptPayload,
  receiptStanza,
  STREAM_END,
  stanzaErrorStanza,
  streamHeader,
  upstreamAckStanza,
  upstreamStanza,
  WHITESPACE_KEEPALIVE,
} from "./writer.ts";
export { Element } from "./xml.ts";
