// `npm run bench`: every benchmark in turn, each in its own process, with the arguments recorded in
// docs/benchmarks.md. Each prints its own figures and ratios against the baseline it measures in the
// same run. `npm run bench -- ccs-emulator` runs only the benchmarks whose name contains the filter.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

interface Benchmark {
  readonly name: string;
  readonly args: readonly string[];
  readonly nodeFlags?: readonly string[];
}

const BENCHMARKS: readonly Benchmark[] = [
  { name: "ccs-protocol", args: ["bench/ccs-protocol-bench.ts"] },
  { name: "ccs-emulator", args: ["bench/ccs-emulator-bench.ts", "--rounds", "3"] },
  { name: "worker-xmpp-throughput", args: ["bench/worker-xmpp-throughput.ts", "200000", "7"] },
  { name: "worker-xmpp-memory", args: ["bench/worker-xmpp-memory.ts", "1000"], nodeFlags: ["--expose-gc"] },
  {
    name: "worker-e2e",
    args: ["bench/worker-e2e-bench.ts", "--messages", "30000", "--latency-seconds", "10"],
  },
  {
    name: "coordinator-dedupe-throughput",
    args: ["services/coordinator/bench/dedupe-throughput.ts", "20000", "1"],
  },
  { name: "coordinator-dedupe-memory", args: ["services/coordinator/bench/dedupe-memory.ts", "1000000"] },
];

const root = resolve(import.meta.dirname, "..");
const filter = process.argv[2];
const selected = BENCHMARKS.filter((b) => filter === undefined || b.name.includes(filter));
if (selected.length === 0) {
  process.stderr.write(
    `no benchmark matches ${JSON.stringify(filter)}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}\n`,
  );
  process.exit(2);
}
let failed = 0;
for (const bench of selected) {
  const argv = [...(bench.nodeFlags ?? []), ...bench.args];
  process.stdout.write(`\n=== ${bench.name}: node ${argv.join(" ")}\n`);
  const result = spawnSync(process.execPath, argv, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    failed += 1;
    process.stdout.write(`=== ${bench.name} failed (exit ${result.status ?? result.signal})\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
