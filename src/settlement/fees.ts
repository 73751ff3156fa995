/** Fees: basis points of each captured amount, rounded half to even per transaction. */

/** The largest fee rate an operator can set: 100 % of the amount. */
export const MAX_FEE_BPS = 10_000;

/**
 * `amount * bps / 10000` rounded half to even (banker's rounding): a remainder of exactly half a
 * minor unit goes to the even neighbour, so over many transactions the rounding does not drift
 * towards the merchant or towards us. Exact for every bigint amount (no floats).
 */
export function feeFor(amount: bigint, bps: number): bigint {
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_FEE_BPS) {
    throw new RangeError(`fee rate must be an integer in [0, ${MAX_FEE_BPS}] bps, got ${bps}`);
  }
  if (amount < 0n) throw new RangeError(`amount must not be negative, got ${amount}`);
  const n = amount * BigInt(bps);
  const q = n / 10_000n;
  const twice = (n % 10_000n) * 2n;
  if (twice > 10_000n || (twice === 10_000n && q % 2n === 1n)) return q + 1n;
  return q;
}
