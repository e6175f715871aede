/** Small pure helpers of the benchmark: weighted order, shares, rounding. */

/**
 * Smooth weighted round robin (nginx's): for weights 4/3/2/1 the first 10 picks hold each server
 * exactly its weight's share, interleaved. Returns the server index of each of `count` picks.
 */
export const weightedOrder = (weights: number[], count: number): number[] => {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const current = weights.map(() => 0);
  const order: number[] = [];
  for (let pick = 0; pick < count; pick += 1) {
    let best = 0;
    for (let index = 0; index < weights.length; index += 1) {
      current[index]! += weights[index]!;
      if (current[index]! > current[best]!) best = index;
    }
    current[best]! -= total;
    order.push(best);
  }
  return order;
};

export interface WeightShare {
  weight: number;
  messages: number;
  /** Percent of all messages this server received. */
  sharePct: number;
  /** Percent its weight asks for. */
  expectedPct: number;
  /** sharePct - expectedPct, in percentage points. */
  deviationPct: number;
}

/** Each server's share of the messages against its weight's share. */
export const weightShares = (weights: number[], counts: number[]): WeightShare[] => {
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const totalMessages = counts.reduce((sum, count) => sum + count, 0);
  return weights.map((weight, index) => {
    const messages = counts[index] ?? 0;
    const sharePct = totalMessages === 0 ? 0 : (100 * messages) / totalMessages;
    const expectedPct = (100 * weight) / totalWeight;
    return { weight, messages, sharePct, expectedPct, deviationPct: sharePct - expectedPct };
  });
};

export const round = (value: number, digits = 2) => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Messages per second over a duration in ms. */
export const perSecond = (messages: number, ms: number) => (ms > 0 ? (1000 * messages) / ms : 0);
