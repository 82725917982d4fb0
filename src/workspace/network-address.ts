import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Which hosts a network grant or a configured `allowedDomains` entry may never open.
 *
 * The sandbox's allowlist matches by name, and sandbox-runtime never re-judges an IP literal
 * on it ("an explicit choice"), so one approving click on `127.0.0.1:8080` or
 * `169.254.169.254` would hand a hostile model the server's own services or its cloud
 * credentials. Everything here answers with the reason as a clause ("it is …") that callers
 * put after "I can't … to <host>:", or undefined when the host looks like a public one.
 */

/** All the addresses a name resolves to now. */
export type Resolve = (host: string) => Promise<string[]>;

interface AddressClass {
  what: string;
  list: BlockList;
}

/** Most specific first: the first class that matches names the refusal. */
const addressClasses: AddressClass[] = [
  classOf('a loopback address on the shipmate server itself', ['127.0.0.0/8', '::1/128']),
  classOf('the unspecified address (the shipmate server itself)', ['0.0.0.0/8', '::/128']),
  classOf('a link-local address (where cloud servers serve metadata and credentials)', [
    '169.254.0.0/16',
    'fe80::/10',
  ]),
  // Metadata endpoints outside link-local (Azure, Oracle, Alibaba, AWS IPv6, GCP IPv6).
  classOf("a cloud metadata address that hands out the server's credentials", [
    '168.63.129.16/32',
    '192.0.0.0/24',
    '100.100.100.200/32',
    'fd00:ec2::/32',
    'fd20:ce::254/128',
  ]),
  classOf('a private network address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
  classOf("a shared carrier-grade NAT address (private to the provider's network)", ['100.64.0.0/10']),
  classOf("a unique-local IPv6 address (private to the server's network)", ['fc00::/7']),
  classOf('a multicast address', ['224.0.0.0/4', 'ff00::/8']),
  classOf('a broadcast or reserved address', ['240.0.0.0/4']),
];

/**
 * The private ranges sandbox-runtime's own resolved-address guard leaves open by default
 * (it already refuses loopback, link-local, metadata and this host's addresses at dial
 * time). Passed as `network.deniedResolvedAddresses` so an allowed name that later
 * resolves into them (DNS rebinding) is refused when the command connects.
 */
export const deniedResolvedAddresses: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
];

/** Names that only ever mean the server itself or its cloud's metadata service. */
const metadataNames = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'metadata.goog']);

/** Suffixes that resolve only inside the server's own network (RFC 6762, RFC 8375, ICANN .internal). */
const privateSuffixes = ['.internal', '.local', '.localdomain', '.home.arpa', '.lan', '.intranet', '.corp'];

const lookupTimeoutMs = 5000;

/**
 * Why shipmate will not open the sandbox to `entry` (a host, `host:port`, `[v6]:port` or
 * `*.domain`), judged from the entry alone and this server's own addresses.
 */
export function staticRefuseReason(
  entry: string,
  ownAddresses: () => string[] = interfaceAddresses,
): string | undefined {
  const host = parseEntry(entry);
  if (!host) return 'it is not a host name or address I can check.';
  if (host.address) return addressReason(host.address, host.spelledOddly, ownAddresses());
  return nameReason(host.name);
}

/**
 * {@link staticRefuseReason}, and for a plain name also what it resolves to right now.
 * A name that does not resolve is not refused here: it reaches nothing today, and
 * sandbox-runtime judges the address again when a command dials it.
 */
export async function refuseReason(
  entry: string,
  resolve: Resolve = resolveAll,
  ownAddresses: () => string[] = interfaceAddresses,
): Promise<string | undefined> {
  const fixed = staticRefuseReason(entry, ownAddresses);
  const host = parseEntry(entry);
  if (fixed || !host || host.address || host.wildcard) return fixed;
  const addresses = await withTimeout(resolve(host.name)).catch(() => [] as string[]);
  const own = ownAddresses();
  for (const address of addresses) {
    // Only the class goes back: the model must not learn the inside of the server's DNS.
    const verdict = classify(address, own);
    if (verdict) return `it resolves to ${verdict.what}, which the sandbox never reaches.`;
  }
  return undefined;
}

interface ParsedEntry {
  /** Set for an IP literal, in canonical form. */
  address?: string;
  /** True when the literal was written another way (`0x7f.1`, `2130706433`, `127.1`). */
  spelledOddly: boolean;
  /** The lowercased name without trailing dot (for a wildcard, a label under its base). */
  name: string;
  wildcard: boolean;
}

/** Host part of an allowlist entry, canonicalized the way a URL parser (and curl) would. */
function parseEntry(entry: string): ParsedEntry | undefined {
  const raw = stripPort(entry.trim());
  if (!raw) return undefined;
  const wildcard = raw.startsWith('*.');
  const bare = wildcard ? `x.${raw.slice(2)}` : raw;
  if (isIP(bare) === 6) {
    return { address: canonicalIPv6(bare), spelledOddly: false, name: bare, wildcard: false };
  }
  // Letters, digits, dots, dashes, underscores only: no userinfo, path or percent tricks.
  if (!/^[\p{L}\p{N}._-]+$/u.test(bare)) return undefined;
  let hostname: string;
  try {
    // The WHATWG host parser folds case and Unicode look-alikes and reads every IPv4
    // spelling inet_aton accepts (decimal, hex, octal, short) as the address it means.
    hostname = new URL(`http://${bare}/`).hostname;
  } catch {
    return undefined;
  }
  const name = hostname.replace(/\.+$/, '');
  if (isIP(name) === 4) {
    const spelledOddly = name !== bare.toLowerCase().replace(/\.+$/, '');
    return { address: name, spelledOddly, name, wildcard: false };
  }
  return { name, spelledOddly: false, wildcard };
}

/** `host:443` → `host`, `[::1]:443` → `::1`; an unbracketed IPv6 literal stays whole. */
function stripPort(entry: string): string | undefined {
  if (entry.startsWith('[')) {
    const match = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
    return match?.[1]?.replace(/%.*$/, '');
  }
  const colons = entry.split(':').length - 1;
  if (colons === 0) return entry;
  if (colons > 1) return entry.replace(/%.*$/, '');
  const match = /^(.*):\d{1,5}$/.exec(entry);
  return match?.[1];
}

function addressReason(address: string, spelledOddly: boolean, own: string[]): string | undefined {
  const verdict = classify(address, own);
  const why = verdict?.carried ? `an IPv6 form of ${verdict.carried}, ${verdict.what}` : verdict?.what;
  if (why && spelledOddly)
    return `it is another way to write ${address}, ${why}, which the sandbox never reaches.`;
  if (why) return `it is ${why}, which the sandbox never reaches.`;
  // A grant must match what the command's tools send; an odd spelling never would.
  if (spelledOddly) return `it is an unusual way to write ${address}; use ${address} itself.`;
  return undefined;
}

function nameReason(name: string): string | undefined {
  if (name === 'localhost' || name.endsWith('.localhost')) {
    return 'it names the shipmate server itself (loopback), which the sandbox never reaches.';
  }
  if (metadataNames.has(name)) {
    return "it is a cloud metadata name that hands out the server's credentials, which the sandbox never reaches.";
  }
  const suffix = privateSuffixes.find((end) => name.endsWith(end));
  if (suffix) {
    return `it is a private-use name (${suffix}) that only resolves inside the server's own network, which the sandbox never reaches.`;
  }
  if (!name.includes('.')) {
    return "it is a single-label name that only resolves inside the server's own network, which the sandbox never reaches.";
  }
  return undefined;
}

interface Verdict {
  /** The class, e.g. "a private network address". */
  what: string;
  /** The IPv4 address an IPv6 form carries, when that is what was judged. */
  carried?: string;
}

/** What kind of refused address this is, or undefined for a public one. */
function classify(zoned: string, own: string[]): Verdict | undefined {
  // A zone id (`fe80::1%eth0`) names the interface, not the address; BlockList refuses it.
  const address = zoned.replace(/%.*$/, '');
  const family = isIP(address) === 6 ? 'ipv6' : isIP(address) === 4 ? 'ipv4' : undefined;
  if (!family) return undefined;
  const carried = family === 'ipv6' && !isLoopbackOrUnspecified(address) ? embeddedIPv4(address) : undefined;
  if (carried) {
    const verdict = classify(carried, own);
    return verdict ? { what: verdict.what, carried } : undefined;
  }
  const match = addressClasses.find((entry) => entry.list.check(address, family));
  if (match) return { what: match.what };
  if (ownList(own).check(address, family)) return { what: "one of the shipmate server's own addresses" };
  return undefined;
}

function isLoopbackOrUnspecified(address: string): boolean {
  const canonical = canonicalIPv6(address);
  return canonical === '::1' || canonical === '::';
}

/** Prefixes whose addresses a network delivers to the IPv4 address they carry. */
const carriers = blockList([
  '::ffff:0:0/96', // IPv4-mapped
  '::/96', // IPv4-compatible (deprecated): judged by the IPv4 it carries, to be safe
  '64:ff9b::/96', // NAT64 well-known prefix: a gateway dials the embedded IPv4
]);
const sixToFour = blockList(['2002::/16']);

/**
 * The IPv4 address inside an IPv6 literal that carries one, so `::ffff:7f00:1` or
 * `64:ff9b::a9fe:a9fe` is judged as the IPv4 address the packet really goes to. BlockList
 * already matches the mapped form against IPv4 rules, but not the other carriers.
 */
function embeddedIPv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (!groups) return undefined;
  const at = sixToFour.check(address, 'ipv6') ? 1 : carriers.check(address, 'ipv6') ? 6 : undefined;
  if (at === undefined) return undefined;
  const [high = 0, low = 0] = groups.slice(at, at + 2);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** The eight 16-bit groups of an IPv6 literal. */
function ipv6Groups(address: string): number[] | undefined {
  const [head = '', tail] = canonicalIPv6(address).split('::');
  const lead = head ? head.split(':') : [];
  const rest = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - lead.length - rest.length;
  const groups = [...lead, ...Array<string>(Math.max(fill, 0)).fill('0'), ...rest];
  return groups.length === 8 ? groups.map((group) => Number.parseInt(group, 16)) : undefined;
}

/** Compressed, lowercase, hex-only form (`::ffff:127.0.0.1` → `::ffff:7f00:1`). */
function canonicalIPv6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

function ownList(own: string[]): BlockList {
  const list = new BlockList();
  for (const address of own) {
    const family = isIP(address);
    if (family) list.addAddress(address, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

function classOf(what: string, ranges: string[]): AddressClass {
  return { what, list: blockList(ranges) };
}

function blockList(ranges: string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [network = '', prefix = ''] = range.split('/');
    list.addSubnet(network, Number(prefix), isIP(network) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** This server's addresses right now: a service bound to 0.0.0.0 answers on each of them. */
function interfaceAddresses(): string[] {
  try {
    return Object.values(networkInterfaces())
      .flat()
      .flatMap((entry) => (entry ? [entry.address.replace(/%.*$/, '')] : []));
  } catch {
    // Some restricted environments cannot list interfaces; the fixed classes still apply.
    return [];
  }
}

async function resolveAll(host: string): Promise<string[]> {
  const answers = await lookup(host, { all: true });
  return answers.map((answer) => answer.address);
}

/** A lookup that hangs must not hold the tool call or the click; no answer refuses nothing. */
function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('lookup timed out')), lookupTimeoutMs);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
