/** What a sandbox route is: which paths it serves, the fault scope that reaches it, and its handler. */
import type { ConcreteRoute } from '../faults.js';
import type { RequestContext } from '../http.js';
import type { SandboxState } from '../state.js';

export interface RouteSpec {
  /**
   * The name faults use to aim at this route (`SandboxFault.route`). Undefined: no fault ever applies (the
   * tenant-location lookup and the sandbox's own control routes).
   */
  readonly scope: ConcreteRoute | undefined;
  matches(pathname: string): boolean;
  handle(ctx: RequestContext, state: SandboxState): void | Promise<void>;
}

/** A route for exactly these paths. */
export function exactPaths(...paths: string[]): (pathname: string) => boolean {
  const set = new Set(paths);
  return (pathname) => set.has(pathname);
}
