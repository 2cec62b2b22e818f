import type { EmulatorControl } from "../control.ts";
import { NotFoundError } from "../errors.ts";

export interface RouteRequest {
  readonly params: readonly string[];
  readonly body: unknown;
  readonly query: URLSearchParams;
}

export interface Route {
  readonly method: "GET" | "POST" | "PUT";
  /** Path segments; ":" marks a parameter. */
  readonly path: readonly string[];
  readonly handle: (req: RouteRequest) => unknown;
}

const p = (req: RouteRequest, i: number): string => req.params[i] ?? "";

const DEVICE_ACTIONS: Readonly<Record<string, keyof EmulatorControl>> = {
  unregister: "unregisterDevice",
  register: "registerDevice",
  offline: "setDeviceOffline",
  online: "setDeviceOnline",
  idle: "setDeviceIdle",
  active: "setDeviceActive",
};

/** The admin API, route by route (CONTRACT.md's table). */
export function adminRoutes(control: EmulatorControl): Route[] {
  const routes: Route[] = [
    { method: "GET", path: ["health"], handle: () => control.health() },
    { method: "GET", path: ["stats"], handle: () => control.stats() },
    { method: "POST", path: ["reset"], handle: () => control.reset() },
    { method: "GET", path: ["devices"], handle: () => control.devices() },
    { method: "POST", path: ["devices"], handle: (r) => control.addDevice(r.body as never) },
    {
      method: "GET",
      path: ["devices", ":"],
      handle: (r) => {
        const device = control.device(p(r, 0));
        if (device === undefined) throw new NotFoundError(`device ${p(r, 0)}`);
        return device;
      },
    },
    {
      method: "POST",
      path: ["devices", ":", "rotate"],
      handle: (r) => control.rotateDevice(p(r, 0), r.body as never),
    },
    {
      method: "GET",
      path: ["ledger"],
      handle: (r) => control.ledger({ messageIds: ["1", "true"].includes(r.query.get("messageIds") ?? "") }),
    },
    { method: "POST", path: ["upstream"], handle: (r) => control.sendUpstream(r.body as never) },
    {
      method: "PUT",
      path: ["upstream", "generator"],
      handle: (r) => control.setUpstreamGenerator(r.body as never),
    },
    { method: "POST", path: ["drain"], handle: (r) => control.drain(r.body as never) },
    { method: "GET", path: ["faults"], handle: () => control.faults() },
    { method: "PUT", path: ["faults"], handle: (r) => control.setFaults(r.body as never) },
    { method: "POST", path: ["connections", ":", "reset"], handle: (r) => control.resetConnection(p(r, 0)) },
    { method: "GET", path: ["config"], handle: () => control.config() },
    { method: "PUT", path: ["config"], handle: (r) => control.setConfig(r.body as never) },
    { method: "GET", path: ["senders"], handle: () => control.senders() },
  ];
  for (const [action, method] of Object.entries(DEVICE_ACTIONS)) {
    routes.push({
      method: "POST",
      path: ["devices", ":", action],
      handle: (r) => (control[method] as (token: string) => unknown)(p(r, 0)),
    });
  }
  return routes;
}

export type RouteMatch = { route: Route; params: string[] } | { methodNotAllowed: true } | null;

export function matchRoute(
  routes: readonly Route[],
  method: string,
  segments: readonly string[],
): RouteMatch {
  let pathMatched = false;
  for (const route of routes) {
    if (route.path.length !== segments.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < segments.length; i++) {
      const want = route.path[i];
      const got = segments[i] ?? "";
      if (want === ":") params.push(got);
      else if (want !== got) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (route.method === method) return { route, params };
    pathMatched = true;
  }
  return pathMatched ? { methodNotAllowed: true } : null;
}
