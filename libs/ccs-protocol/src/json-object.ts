/** Small JSON helpers shared by the payload parsers and the validator. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Own string-valued property, else undefined. */
export function stringField(obj: JsonObject, key: string): string | undefined {
  const v = Object.hasOwn(obj, key) ? obj[key] : undefined;
  return typeof v === "string" ? v : undefined;
}

export function isStringRecord(value: unknown): value is Record<string, string> {
  if (!isJsonObject(value)) return false;
  for (const key in value) {
    if (typeof value[key] !== "string") return false;
  }
  return true;
}

/** UTF-8 byte length without allocating. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
