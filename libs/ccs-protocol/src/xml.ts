/// <reference path="./vendor/xmpp-xml.d.ts" />
/** The one place that imports @xmpp/xml, so its types are declared once for every consumer. */
import { Element, Parser, unescapeXML } from "@xmpp/xml";

export { Element, Parser, unescapeXML };
