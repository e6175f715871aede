/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export const waitFor = async <T>(what: string, check: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 50): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
