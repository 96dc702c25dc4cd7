/**
 * The paths the app serves and their methods, so an unknown method on a known path can be
 * told apart from an unknown path (405 with Allow, RFC 9110, instead of 404).
 */
export interface RouteTable {
  add(url: string, method: string | string[]): void;
  /** The methods served at this concrete path (`/api/leads/abc`), sorted; empty when none. */
  methodsOf(path: string): string[];
  /** Every route pattern served and its methods, sorted, in the order they were added. */
  list(): Array<{ url: string; methods: string[] }>;
}

export function createRouteTable(): RouteTable {
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  return {
    add(url, method) {
      const route = routes.get(url) ?? { pattern: patternOf(url), methods: new Set<string>() };
      for (const m of [method].flat()) route.methods.add(m.toUpperCase());
      routes.set(url, route);
    },
    methodsOf(path) {
      // A static path is its own resource (`/api/leads/batch` is not the lead `batch`).
      const exact = routes.get(path);
      if (exact) return [...exact.methods].sort();
      const methods = new Set<string>();
      for (const route of routes.values()) if (route.pattern.test(path)) route.methods.forEach((m) => methods.add(m));
      return [...methods].sort();
    },
    list() {
      return [...routes].map(([url, route]) => ({ url, methods: [...route.methods].sort() }));
    },
  };
}

/** `/api/leads/:id/history` -> /^\/api\/leads\/[^/]+\/history$/ */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
