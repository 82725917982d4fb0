import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/**
 * Who may use the playground's routes. The playground acts as any user with the app's full
 * powers (jobs, pull requests), so a web page the user happens to visit must not drive it:
 * - the Host must be a loopback name or an IP literal (a DNS-rebinding attacker only has names),
 *   or one the operator allowed;
 * - a POST must be JSON (a cross-site form or `no-cors` fetch cannot send that without a CORS
 *   preflight, which is never answered) and, when the browser says where it comes from, come
 *   from this same host.
 * Returns why a request is refused, or undefined when it may go on.
 */
export function refuseForeignRequest(
  method: string | undefined,
  headers: IncomingHttpHeaders,
  allowedHosts: readonly string[] = [],
): string | undefined {
  const host = headers.host;
  if (!host || !isAllowedHost(hostnameOf(host), allowedHosts)) return 'unknown host';
  if (method !== 'POST') return undefined;
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return 'expected application/json';
  const origin = headers.origin;
  if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`)
    return 'cross-origin request';
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross-site request';
  return undefined;
}

/** `localhost:3000` → `localhost`, `[::1]:3000` → `::1`. */
export function hostnameOf(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

function isAllowedHost(hostname: string, allowedHosts: readonly string[]): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  if (isIP(hostname) !== 0) return true;
  return allowedHosts.some((allowed) => allowed.toLowerCase() === hostname);
}
