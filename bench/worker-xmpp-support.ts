// Shared helpers of the XMPP-leg benchmarks: an emulator in a child process, stats over HTTP.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface EmulatorProcess {
  readonly host: string;
  readonly port: number;
  readonly adminUrl: string;
  readonly caPem: string;
  readonly child: ChildProcess;
  stats(): Promise<{ counters: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export const DEMO_SENDER_ID = "123456789012";
export const DEMO_API_KEY = "demo-api-key-not-secret";

export async function startEmulatorProcess(options: object = {}): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    [new URL("./worker-xmpp-emulator-process.ts", import.meta.url).pathname, JSON.stringify(options)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<{ host: string; port: number; adminUrl: string; caPem: string }>(
    (resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`emulator process exited early (${code})`)));
      lines.once("line", (line) =>
        resolve(JSON.parse(line) as { host: string; port: number; adminUrl: string; caPem: string }),
      );
    },
  );
  return {
    ...ready,
    child,
    stats: async () =>
      (await (await fetch(`${ready.adminUrl}/stats`)).json()) as { counters: Record<string, unknown> },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
