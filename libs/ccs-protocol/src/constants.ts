/**
 * Wire constants of CCS (GCM/FCM XMPP Connection Server) and the XMPP namespaces it uses.
 * Sources: reference guides 000/001/004 and ccs-facts.md.
 */

/** XMPP domain of CCS; stays the same whichever host name is dialled. */
export const CCS_DOMAIN = "gcm.googleapis.com";
/** Production endpoint (direct TLS, no STARTTLS). */
export const CCS_HOST = "gcm.googleapis.com";
export const CCS_PORT = 5235;
/** Pre-production/testing endpoint (earlier `gcm-staging`). */
export const CCS_PREPROD_HOST = "gcm-preprod.googleapis.com";
export const CCS_PREPROD_PORT = 5236;
/** `from` of delivery receipts, and the bare JID devices' upstream messages come from. */
export const CCS_RECEIPT_FROM = CCS_DOMAIN;
export const CCS_DEVICES_JID = `devices@${CCS_DOMAIN}`;

/** Namespace of the `<gcm>` payload element. */
export const GCM_NAMESPACE = "google:mobile:data";
/** Local name of the payload element (also seen with a prefix: `<data:gcm xmlns:data="google:mobile:data">`). */
export const GCM_ELEMENT = "gcm";

export const NS_CLIENT = "jabber:client";
export const NS_STREAM = "http://etherx.jabber.org/streams";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
export const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_STREAMS_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams";
export const NS_PING = "urn:xmpp:ping";

/** The only documented `control_type`. */
export const CONTROL_CONNECTION_DRAINING = "CONNECTION_DRAINING";

/** Prefix CCS puts before the original message id in a delivery receipt's `message_id`. */
export const RECEIPT_MESSAGE_ID_PREFIX = "dr2:";
/** `data.message_status` of a delivery receipt. */
export const MESSAGE_SENT_TO_DEVICE = "MESSAGE_SENT_TO_DEVICE";

/** Pending (un-answered) downstream messages allowed per connection: 100 in later guides (000, 001). */
export const DEFAULT_MAX_PENDING_MESSAGES = 100;
/** The older limit of the first public guide (002); limits that changed must stay configurable. */
export const LEGACY_MAX_PENDING_MESSAGES = 1000;
