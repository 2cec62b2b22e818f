// Keeps the Kubernetes manifests true to the code: every environment variable a manifest sets is one
// the service reads, probes hit the endpoints and ports the service serves, grace periods outlast the
// services' own shutdown bounds, and every referenced ConfigMap, Secret and entry point exists.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CoordinatorEnv } from "@ccs/coordinator";
import { TelemetryEnv } from "@ccs/telemetry";
import { WorkerEnv } from "@ccs/worker";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";

const deployDir = resolve(import.meta.dirname, "..");
const repoRoot = resolve(deployDir, "..");
const manifestDir = join(deployDir, "kubernetes");

interface EnvVar {
  name: string;
  value?: string;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: Volume[];
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { replicas?: number; template?: { spec: PodSpec } };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  resources?: string[];
}

function loadManifests(): { file: string; doc: Manifest }[] {
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of readdirSync(manifestDir).filter((f) => f.endsWith(".yaml"))) {
    for (const parsed of parseAllDocuments(readFileSync(join(manifestDir, file), "utf8"))) {
      if (parsed.errors.length > 0)
        throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join("; ")}`);
      out.push({ file, doc: parsed.toJS() as Manifest });
    }
  }
  return out;
}

const manifests = loadManifests();
const docs = manifests.map((m) => m.doc);
const workloads = docs.filter((d) => d.kind === "Deployment" || d.kind === "StatefulSet");

function find(kind: string, name: string): Manifest {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (doc === undefined) throw new Error(`no ${kind} named ${name}`);
  return doc;
}

function podSpec(doc: Manifest): PodSpec {
  const spec = doc.spec?.template?.spec;
  if (spec === undefined) throw new Error(`${doc.kind} ${doc.metadata.name} has no pod template`);
  return spec;
}

function serviceContainer(name: string): { pod: PodSpec; container: Container; env: Map<string, string> } {
  const pod = podSpec(find("Deployment", name));
  const container = pod.containers[0];
  if (container === undefined) throw new Error(`${name} has no container`);
  const env = new Map((container.env ?? []).map((e) => [e.name, e.value ?? ""]));
  return { pod, container, env };
}

const knownEnv = {
  "services/coordinator/src/main.ts": new Set([
    ...Object.values(CoordinatorEnv),
    ...Object.values(TelemetryEnv),
  ]),
  "services/worker/src/main.ts": new Set([...Object.values(WorkerEnv), ...Object.values(TelemetryEnv)]),
} as const;

describe("Kubernetes manifests", () => {
  test("every document is well-formed and in the ccs namespace", () => {
    expect(docs.length).toBeGreaterThan(5);
    for (const doc of docs) {
      expect(doc.apiVersion, doc.kind).toBeTruthy();
      if (doc.kind === "Kustomization") continue;
      expect(doc.metadata.name).toMatch(/^[a-z0-9-]+$/);
      if (doc.kind !== "Namespace") expect(doc.metadata.namespace, doc.metadata.name).toBe("ccs");
    }
  });

  test("the kustomization lists exactly the manifest files", () => {
    const kustomization = docs.find((d) => d.kind === "Kustomization");
    const files = readdirSync(manifestDir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...(kustomization?.resources ?? [])].sort()).toEqual(files.sort());
  });

  test("services run entry points that exist, with only the environment variables they read", () => {
    const ours = workloads.filter((w) =>
      podSpec(w).containers.some((c) => c.image.startsWith("ccs-cluster")),
    );
    expect(ours.map((w) => w.metadata.name).sort()).toEqual(["ccs-coordinator", "ccs-worker"]);
    for (const workload of ours) {
      for (const container of podSpec(workload).containers) {
        const entry = container.args?.[0] ?? "";
        expect(existsSync(join(repoRoot, entry)), entry).toBe(true);
        const known: ReadonlySet<string> | undefined = knownEnv[entry as keyof typeof knownEnv];
        expect(known, `${entry} has a known environment table`).toBeDefined();
        for (const { name } of container.env ?? []) {
          expect(
            known?.has(name),
            `${workload.metadata.name} sets ${name}, which ${entry} does not read`,
          ).toBe(true);
        }
      }
    }
  });

  test("probes hit /healthz and /readyz on the port the service listens on", () => {
    for (const [name, portVar] of [
      ["ccs-coordinator", CoordinatorEnv.httpPort],
      ["ccs-worker", WorkerEnv.httpPort],
    ] as const) {
      const { container, env } = serviceContainer(name);
      const httpPort = container.ports?.find((p) => p.name === "http")?.containerPort;
      expect(String(httpPort), `${name} containerPort matches ${portVar}`).toBe(env.get(portVar));
      expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    }
  });

  test("grace periods outlast the services' own shutdown bounds", () => {
    const coordinator = serviceContainer("ccs-coordinator");
    const worker = serviceContainer("ccs-worker");
    const coordinatorBound = Number(coordinator.env.get(CoordinatorEnv.shutdownTimeoutMs));
    const workerBound = Number(worker.env.get(WorkerEnv.shutdownForceMs));
    expect(coordinatorBound).toBeGreaterThan(0);
    expect(workerBound).toBeGreaterThan(0);
    expect((coordinator.pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(coordinatorBound);
    expect((worker.pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(workerBound);
  });

  test("Redis and NATS addresses match the StatefulSets; stream replicas fit the NATS cluster", () => {
    const redisReplicas = find("StatefulSet", "redis").spec?.replicas ?? 1;
    const natsReplicas = find("StatefulSet", "nats").spec?.replicas ?? 1;
    expect(redisReplicas % 2).toBe(1);
    for (const name of ["ccs-coordinator", "ccs-worker"]) {
      const { env } = serviceContainer(name);
      const redisUrls = (env.get("CCS_REDIS_URLS") ?? "").split(",");
      expect(redisUrls).toEqual(
        Array.from({ length: redisReplicas }, (_, i) => `redis://redis-${i}.redis.ccs.svc:6379`),
      );
      const natsUrls = (env.get("CCS_NATS_SERVERS") ?? "").split(",");
      expect(natsUrls).toHaveLength(natsReplicas);
      expect(Number(env.get("CCS_STREAM_REPLICAS"))).toBeLessThanOrEqual(natsReplicas);
    }
  });

  test("mounted ConfigMaps and Secrets exist, and every sender's key file is in the mounted Secret", () => {
    for (const workload of workloads) {
      for (const volume of podSpec(workload).volumes ?? []) {
        if (volume.configMap) expect(() => find("ConfigMap", volume.configMap?.name ?? "")).not.toThrow();
        if (volume.secret) expect(() => find("Secret", volume.secret?.secretName ?? "")).not.toThrow();
      }
    }
    const sendersJson = find("ConfigMap", "ccs-senders").data?.["senders.json"] ?? "";
    const senders = (JSON.parse(sendersJson) as { senders: { senderId: string; apiKeyFile?: string }[] })
      .senders;
    const keys = find("Secret", "ccs-api-keys").stringData ?? {};
    expect(senders.length).toBeGreaterThan(0);
    for (const sender of senders) {
      expect(sender.apiKeyFile).toBe(`/etc/ccs/keys/${sender.senderId}`);
      expect(Object.keys(keys)).toContain(sender.senderId);
    }
    for (const name of ["ccs-coordinator", "ccs-worker"]) {
      const mounts = serviceContainer(name).container.volumeMounts ?? [];
      expect(mounts.map((m) => m.mountPath).sort()).toEqual(["/etc/ccs/keys", "/etc/ccs/senders"]);
    }
  });

  test("the container image's default entry point exists", () => {
    const dockerfile = readFileSync(join(deployDir, "container/Dockerfile"), "utf8");
    const cmd = /^CMD \["([^"]+)"\]/m.exec(dockerfile)?.[1] ?? "";
    expect(existsSync(join(repoRoot, cmd)), cmd).toBe(true);
  });
});
