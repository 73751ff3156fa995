import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { feeFor, MAX_FEE_BPS } from "./fees.ts";

/**
 * An independent reference: `amount * bps` written in decimal, the last four digits read as the
 * fraction of a minor unit, rounded half to even by comparing digit strings (no bigint division).
 */
function referenceFee(amount: bigint, bps: number): bigint {
  const digits = (amount * BigInt(bps)).toString().padStart(5, "0");
  const whole = digits.slice(0, -4);
  const fraction = digits.slice(-4);
  const wholeValue = BigInt(whole);
  const lastDigitOdd = Number(whole.at(-1)) % 2 === 1;
  if (fraction > "5000" || (fraction === "5000" && lastDigitOdd)) return wholeValue + 1n;
  return wholeValue;
}

Deno.test("feeFor: an exact half goes to the even neighbour", () => {
  assertEquals(feeFor(5n, 1000), 0n); // 0.5 -> 0
  assertEquals(feeFor(15n, 1000), 2n); // 1.5 -> 2
  assertEquals(feeFor(25n, 1000), 2n); // 2.5 -> 2
  assertEquals(feeFor(35n, 1000), 4n); // 3.5 -> 4
  assertEquals(feeFor(1n, 5000), 0n); // 0.5 -> 0
  assertEquals(feeFor(3n, 5000), 2n); // 1.5 -> 2
  assertEquals(feeFor(50n, 100), 0n); // 0.5 -> 0
  assertEquals(feeFor(150n, 100), 2n); // 1.5 -> 2
});

Deno.test("feeFor: below half rounds down, above half rounds up", () => {
  assertEquals(feeFor(14n, 1000), 1n); // 1.4
  assertEquals(feeFor(16n, 1000), 2n); // 1.6
  assertEquals(feeFor(24n, 1000), 2n); // 2.4
  assertEquals(feeFor(26n, 1000), 3n); // 2.6
  assertEquals(feeFor(1n, 4999), 0n); // 0.4999
  assertEquals(feeFor(1n, 5001), 1n); // 0.5001
  assertEquals(feeFor(10_000n, 250), 250n); // exact 2.5 %
});

Deno.test("feeFor: 0 bps is no fee and 10000 bps is the whole amount", () => {
  const max = 9_223_372_036_854_775_807n;
  assertEquals(feeFor(max, 0), 0n);
  assertEquals(feeFor(max, MAX_FEE_BPS), max);
  assertEquals(feeFor(1n, MAX_FEE_BPS), 1n);
  assertEquals(feeFor(0n, 1234), 0n);
});

Deno.test("feeFor: exact past 2^53 (no float on the way)", () => {
  // 2^63-1 at 1 bps: 922337203685477.5807 -> ...478
  assertEquals(feeFor(9_223_372_036_854_775_807n, 1), 922_337_203_685_478n);
  // 2^53+1 at 5000 bps is 4503599627370496.5: a half, even neighbour 4503599627370496.
  assertEquals(feeFor(9_007_199_254_740_993n, 5000), 4_503_599_627_370_496n);
});

Deno.test("feeFor: matches a decimal-string reference for every amount up to 2^63-1", () => {
  const amountArb = fc.oneof(
    fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }),
    fc.bigInt({ min: 0n, max: 100_000n }),
    // Amounts whose fee lands on an exact half for some rates.
    fc.bigInt({ min: 0n, max: 1_000_000_000n }).map((n) => n * 10n + 5n),
  );
  fc.assert(
    fc.property(amountArb, fc.integer({ min: 0, max: MAX_FEE_BPS }), (amount, bps) => {
      assertEquals(feeFor(amount, bps), referenceFee(amount, bps), `${amount} at ${bps} bps`);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("feeFor: the fee never exceeds the amount and grows with the rate", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }),
      fc.integer({ min: 0, max: MAX_FEE_BPS - 1 }),
      (amount, bps) => {
        const fee = feeFor(amount, bps);
        assertEquals(fee >= 0n && fee <= amount, true);
        assertEquals(feeFor(amount, bps + 1) >= fee, true);
      },
    ),
  );
});

Deno.test("feeFor: a rate outside 0..10000 or not an integer is a RangeError", () => {
  for (const bad of [-1, 10_001, 1.5, Number.NaN, Infinity]) {
    assertThrows(() => feeFor(100n, bad), RangeError, "fee rate must be an integer");
  }
  assertThrows(() => feeFor(-1n, 100), RangeError, "must not be negative");
});
