/**
 * Which From domains a server may send for. A relay account is often allowed to send only for its
 * own domains (a provider refuses, or worse signs and sends, mail for others), so a server that
 * lists its domains is never chosen for mail from another one.
 *
 * Entries are domains (`example.com`) or wildcards for subdomains (`*.example.com`, which does not
 * match `example.com` itself: list both when both are meant). An empty list allows every domain.
 */

/** The domain of an address, lower-cased; null when it has none. */
export function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at < 0 || at === address.length - 1) return null;
  return address.slice(at + 1).toLowerCase();
}

/** Whether a domain matches one allowed entry (a domain, or `*.` and a parent domain). */
export function domainMatches(entry: string, domain: string): boolean {
  const pattern = entry.toLowerCase();
  if (pattern.startsWith('*.')) return domain.endsWith(pattern.slice(1));
  return domain === pattern;
}

/** Whether a server with this allowed list may send mail From `address`. */
export function allowsFromDomain(allowed: readonly string[] | null | undefined, address: string): boolean {
  if (!allowed || allowed.length === 0) return true;
  const domain = domainOf(address);
  if (domain === null) return false;
  return allowed.some((entry) => domainMatches(entry, domain));
}
