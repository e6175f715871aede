/** 'YYYY-MM-DD' of a date in the browser's time zone. */
export const toIsoDay = (date: Date) =>
  `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;

/** A 'YYYY-MM-DD' string as midnight of that day in the browser's time zone, or undefined for anything else. */
export const fromIsoDay = (value: string): Date | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) {
    return undefined;
  }
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Reject days that roll over (2025-02-31 would become March 3rd).
  return toIsoDay(date) === value ? date : undefined;
};
