import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generate } from "selfsigned";

export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

/** Validity of a generated certificate. */
export const GENERATED_CERT_VALIDITY_DAYS = 365;

/**
 * Generates a self-signed certificate clients can trust as their CA: CN localhost, SANs localhost,
 * gcm.googleapis.com, 127.0.0.1 and ::1, EC P-256 with SHA-256.
 */
export async function generateSelfSignedCertificate(now: Date = new Date()): Promise<CertificatePair> {
  const notBeforeDate = new Date(now.getTime() - 60_000);
  const notAfterDate = new Date(now.getTime() + GENERATED_CERT_VALIDITY_DAYS * 86_400_000);
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 2, value: "gcm.googleapis.com" },
          { type: 2, value: "fcm-xmpp.googleapis.com" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

/** Writes the certificate (never the key) so that clients can trust it. */
export async function writeCertificate(path: string, certPem: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, certPem, { mode: 0o644 });
}
