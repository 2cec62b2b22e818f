import { createServer, type Server, type Socket } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";
import type { CertificatePair } from "./tls.ts";

/** Time a client gets to complete the TLS handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export type SecureSocketHandler = (tls: TLSSocket, raw: Socket) => void;

/**
 * A TCP listener that speaks direct TLS only: each accepted socket is wrapped server-side, so a plaintext
 * client (or a STARTTLS attempt) fails the handshake and is dropped. The raw socket is kept for resets.
 */
export class TlsListener {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #onError: (err: Error) => void;
  #closing: Promise<void> | null = null;

  constructor(cert: CertificatePair, onSecure: SecureSocketHandler, onError: (err: Error) => void) {
    this.#onError = onError;
    const context = createSecureContext({ cert: cert.certPem, key: cert.keyPem, minVersion: "TLSv1.2" });
    this.#server = createServer({ noDelay: true }, (raw) => {
      this.#sockets.add(raw);
      raw.once("close", () => this.#sockets.delete(raw));
      raw.on("error", () => raw.destroy());
      raw.setTimeout(TLS_HANDSHAKE_TIMEOUT_MS, () => raw.destroy());
      const tls = new TLSSocket(raw, { isServer: true, secureContext: context, requestCert: false });
      const onHandshakeError = (): void => {
        tls.destroy();
        raw.destroy();
      };
      tls.once("error", onHandshakeError);
      tls.once("secure", () => {
        tls.removeListener("error", onHandshakeError);
        raw.setTimeout(0);
        try {
          onSecure(tls, raw);
        } catch (err) {
          this.#onError(err instanceof Error ? err : new Error(String(err)));
          tls.destroy();
          raw.destroy();
        }
      });
    });
    this.#server.on("error", (err) => this.#onError(err));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once("error", onError);
      this.#server.listen({ host, port, exclusive: true }, () => {
        this.#server.removeListener("error", onError);
        const address = this.#server.address();
        if (address === null || typeof address === "string") reject(new Error("listener has no TCP address"));
        else resolve(address.port);
      });
    });
  }

  /** Stops accepting and destroys every socket still open; idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const raw of this.#sockets) raw.destroy();
    });
    return this.#closing;
  }
}
