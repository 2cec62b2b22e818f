// Runs the CCS emulator in its own process for the XMPP-leg benchmarks (so the client under test has a
// core to itself). Prints one JSON line {host, port, adminUrl, caPem, pid} when ready; stops on SIGTERM
// or when stdin closes. Options as JSON in argv[2] (EmulatorOptions subset).
import { type EmulatorOptions, startEmulator } from "@ccs/ccs-emulator";

const extra = JSON.parse(process.argv[2] ?? "{}") as Partial<EmulatorOptions>;
const emu = await startEmulator({ port: 0, adminPort: 0, keepaliveIntervalMs: 0, ...extra });
process.stdout.write(
  `${JSON.stringify({ host: emu.host, port: emu.port, adminUrl: emu.adminUrl, caPem: emu.caPem, pid: process.pid })}\n`,
);
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await emu.stop();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
