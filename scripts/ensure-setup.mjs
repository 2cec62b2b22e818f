#!/usr/bin/env node
// Installs what `npm start` and `npm test` need on first use, on whatever Node runs npm (Node 18+):
//  - dependencies, when node_modules is missing or older than package-lock.json / a package.json;
//  - nats-server and redis-server (with --servers), through apt-get when root and apt-get exist,
//    otherwise an exact message saying what to install.
// Plain JavaScript on purpose: it runs before the pinned Node 24 exists in node_modules.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const stampFile = join(root, "node_modules", ".ccs-setup-stamp");
const wantServers = process.argv.includes("--servers");

function manifestHash() {
  const hash = createHash("sha256");
  const files = ["package.json", "package-lock.json"];
  for (const parent of ["libs", "services", "test", "deploy"]) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    if (existsSync(join(dir, "package.json"))) files.push(join(parent, "package.json"));
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(dir, entry.name, "package.json"))) {
        files.push(join(parent, entry.name, "package.json"));
      }
    }
  }
  for (const file of files.sort()) {
    const path = join(root, file);
    hash.update(file);
    if (existsSync(path)) hash.update(readFileSync(path));
  }
  return hash.digest("hex");
}

function ensureDependencies() {
  const wanted = manifestHash();
  const pinnedNode = join(root, "node_modules", ".bin", "node");
  const current = existsSync(stampFile) ? readFileSync(stampFile, "utf8").trim() : "";
  if (current === wanted && existsSync(pinnedNode)) return;
  // `npm ci`: exactly what package-lock.json pins (it lists every platform's optional binaries), and it
  // never rewrites the lock file, so `npm test` leaves a clean clone clean. When a package.json changed
  // without the lock file, npm ci refuses and says so: run `npm install` to update the lock, commit it.
  const args = ["ci", "--no-audit", "--no-fund"];
  console.error(`[setup] dependencies missing or stale: running npm ${args.join(" ")}`);
  const result = spawnSync("npm", args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`[setup] npm ${args[0]} failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
  writeFileSync(stampFile, `${manifestHash()}\n`);
}

function onPath(binary) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, binary))) return true;
  }
  return ["/usr/sbin", "/usr/local/sbin", "/usr/bin"].some((dir) => existsSync(join(dir, binary)));
}

function ensureServers() {
  const needed = [
    { binary: "nats-server", env: "CCS_NATS_SERVER_BIN", apt: "nats-server" },
    { binary: "redis-server", env: "CCS_REDIS_SERVER_BIN", apt: "redis-server" },
  ].filter(({ binary, env }) => !(process.env[env] && existsSync(process.env[env])) && !onPath(binary));
  if (needed.length === 0) return;
  const packages = needed.map((n) => n.apt);
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = onPath("apt-get");
  if (isRoot && hasApt) {
    console.error(`[setup] installing ${packages.join(" ")} with apt-get`);
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    return;
  }
  const how = hasApt
    ? `sudo apt-get install -y ${packages.join(" ")}`
    : "install them with your system's package manager (NATS server 2.9+ and Redis 7+)";
  console.error(
    `[setup] missing ${needed.map((n) => n.binary).join(" and ")}; ${how}\n` +
      "        or point CCS_NATS_SERVER_BIN / CCS_REDIS_SERVER_BIN at the binaries.",
  );
  process.exit(1);
}

ensureDependencies();
if (wantServers) ensureServers();
