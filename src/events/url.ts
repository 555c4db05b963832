/**
 * Which URLs a webhook may be delivered to, decided from the URL alone (no DNS). Checked when an
 * endpoint is created and again before every delivery attempt, so a rule tightened later also
 * stops endpoints that already exist.
 *
 * Refused: anything but https (http only with WEBHOOK_ALLOW_LOOPBACK, for a receiver on this
 * machine); credentials in the URL; IP literals that are not public unicast (loopback, private,
 * CGNAT, link-local, ULA, multicast, documentation, benchmarking, reserved, and IPv6 forms that
 * embed such an IPv4: mapped, NAT64, 6to4, Teredo); local names (localhost and *.localhost,
 * *.local, *.internal, *.home.arpa, *.localdomain, single-label names); and names that are IPs in
 * disguise: the WHATWG parser already turns `0x7f.1`, `2130706433` or `017700000001` into
 * 127.0.0.1, and wildcard-DNS names carrying a non-public address (`10.0.0.1.nip.io`,
 * `10-0-0-1.sslip.io`, `0a000001.nip.io`) are refused by the address they spell.
 *
 * Not checkable without resolving the name: a public-looking name whose DNS answer is private, or
 * changes between the check and the fetch (DNS rebinding). On Cloudflare, Workers' own fetch never
 * reaches private networks; under `wrangler dev` it runs on the operator's machine (docs/security.md).
 */
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export const MAX_WEBHOOK_URL_LENGTH = 2048;

const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".localdomain", ".lan", ".intranet", ".corp"];
/** Public names that resolve to loopback by design (test helpers). */
const LOOPBACK_NAMES = ["localtest.me", "lvh.me", "vcap.me", "lacolhost.com", "localho.st"];

export function checkWebhookUrl(raw: string, opts: { allowLoopback: boolean }): UrlVerdict {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, reason: `URL longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a valid URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "credentials in the URL are not allowed" };
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const loopback = isLoopbackHost(host);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && opts.allowLoopback && loopback)) {
    return { ok: false, reason: "the URL must use https" };
  }
  if (loopback) return opts.allowLoopback ? { ok: true, url } : { ok: false, reason: "loopback addresses are not allowed" };
  const why = hostRefusal(host);
  return why ? { ok: false, reason: why } : { ok: true, url };
}

function isLoopbackHost(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = parseIPv4(host);
  if (v4 !== null) return v4 >>> 24 === 127;
  const v6 = host.startsWith("[") ? parseIPv6(host.slice(1, -1)) : null;
  return v6?.every((h, i) => h === (i === 7 ? 1 : 0)) ?? false;
}

/** Why a (non-loopback) host is refused, or null when it may be delivered to. */
function hostRefusal(host: string): string | null {
  if (host.startsWith("[")) {
    const v6 = parseIPv6(host.slice(1, -1));
    if (!v6) return "not a valid IPv6 address";
    return publicIPv6(v6) ? null : "private, local or reserved IPv6 addresses are not allowed";
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) return publicIPv4(v4) ? null : "private, local or reserved IPv4 addresses are not allowed";
  if (!host.includes(".")) return "single-label host names are not allowed";
  if (LOCAL_SUFFIXES.some((s) => host.endsWith(s))) return "local host names are not allowed";
  if (LOOPBACK_NAMES.some((n) => host === n || host.endsWith(`.${n}`))) return "names that resolve to loopback are not allowed";
  const spelled = embeddedIPv4(host);
  if (spelled !== null && !publicIPv4(spelled)) return "the host name spells a private or local IPv4 address";
  return null;
}

/** A dotted quad (the WHATWG parser has already normalised hex, octal and integer forms). */
export function parseIPv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** An address spelled inside a wildcard-DNS name: `a.b.c.d.`, `a-b-c-d.` or 8 hex digits as labels. */
function embeddedIPv4(host: string): number | null {
  const dotted = /(?:^|\.)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?:\.|$)/.exec(host);
  if (dotted) return parseIPv4(dotted[1]);
  const dashed = /(?:^|[.-])(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:[.-]|$)/.exec(host);
  if (dashed) return parseIPv4(dashed.slice(1, 5).join("."));
  const hex = /(?:^|\.)([0-9a-f]{8})\./.exec(host);
  if (hex) return Number.parseInt(hex[1], 16) >>> 0;
  return null;
}

const inV4 = (a: number, base: string, bits: number) => {
  const b = parseIPv4(base) as number;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
};

const V4_NOT_PUBLIC: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

export function publicIPv4(a: number): boolean {
  return !V4_NOT_PUBLIC.some(([base, bits]) => inV4(a, base, bits));
}

/**
 * Eight 16-bit groups, or null. Hosts come from the WHATWG parser, which writes IPv6 in compressed
 * hex (`[::ffff:127.0.0.1]` becomes `[::ffff:7f00:1]`), so no dotted-quad tail needs parsing here.
 */
export function parseIPv6(s: string): number[] | null {
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const group = (part: string) => (part === "" ? [] : part.split(":"));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  const parsed = [...head, ...rest].map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? Number.parseInt(g, 16) : Number.NaN));
  if (parsed.some(Number.isNaN)) return null;
  const fill = 8 - parsed.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  return [...parsed.slice(0, head.length), ...new Array(fill).fill(0), ...parsed.slice(head.length)];
}

/** Global unicast (2000::/3) outside the special ranges, and no embedded non-public IPv4. */
export function publicIPv6(g: number[]): boolean {
  const v4At = (hi: number) => ((g[hi] << 16) | g[hi + 1]) >>> 0;
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64): judged by the IPv4.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return publicIPv4(v4At(6));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return publicIPv4(v4At(6));
  if ((g[0] & 0xe000) !== 0x2000) return false; // not global unicast: ::, ::1, fc00::/7, fe80::/10, ff00::/8, ...
  if (g[0] === 0x2001 && g[1] === 0x0db8) return false; // documentation
  if (g[0] === 0x2001 && g[1] === 0) return false; // Teredo (the embedded IPv4 is obfuscated)
  if (g[0] === 0x2001 && g[1] < 0x200) return false; // IETF protocol assignments (2001::/23)
  if (g[0] === 0x2002) return publicIPv4(v4At(1)); // 6to4
  if (g[0] === 0x3fff && g[1] < 0x1000) return false; // documentation (3fff::/20)
  return true;
}
