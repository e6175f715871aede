/**
 * One normal form for an email address, used wherever addresses are compared: subscribers are
 * unique by it, suppressions match by it, a campaign sends to each at most once. Lower-casing the
 * local part too is what every large mailbox provider does in practice; a list where two people
 * differ only by case would be a mistake anyway.
 */
export const normaliseAddress = (address: string): string => address.trim().toLowerCase();

/** The domain of a (normalised) address, or '' when there is none. */
export const domainOf = (address: string): string => {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1);
};
