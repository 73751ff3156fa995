import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  isUnreadable,
  MAX_AMOUNT,
  minorDigits,
  readSettlementEvent,
  type SettlementEvent,
  type Unreadable,
} from "./settlement_event.ts";

const EVENT_ID = "0b9f3c1e-6a52-4f0e-9d3b-2a7c1e5f8d10";

/** A valid record value with `amount` written verbatim (so it can be any JSON text). */
function record(fields: Record<string, unknown> = {}, amountText = "1500"): string {
  const base = {
    eventId: EVENT_ID,
    paymentId: "pay-1",
    merchantId: "merchant-a",
    type: "PAYMENT_CAPTURED",
    currency: "EUR",
    occurredAt: "2026-12-03T10:00:00Z",
    ...fields,
  };
  const json = JSON.stringify(base);
  return `${json.slice(0, -1)},"amount":${amountText}}`;
}

function readOk(value: string | null, header?: string): SettlementEvent {
  const r = readSettlementEvent(value, header);
  if (isUnreadable(r)) throw new Error(`expected an event, got ${r.rule}: ${r.reason}`);
  return r;
}

function readBad(value: string | null, header?: string): Unreadable {
  const r = readSettlementEvent(value, header);
  if (!isUnreadable(r)) throw new Error(`expected a refusal, got ${JSON.stringify(String(r))}`);
  return r;
}

Deno.test("readSettlementEvent: a valid record becomes an event with a bigint amount", () => {
  assertEquals(readOk(record()), {
    eventId: EVENT_ID,
    paymentId: "pay-1",
    merchantId: "merchant-a",
    type: "PAYMENT_CAPTURED",
    amount: 1500n,
    currency: "EUR",
    occurredAt: Date.parse("2026-12-03T10:00:00Z"),
  });
});

Deno.test("readSettlementEvent: 2^63-1 is read exactly, 2^63 is amount_out_of_range", () => {
  assertEquals(readOk(record({}, "9223372036854775807")).amount, MAX_AMOUNT);
  assertEquals(readOk(record({}, "9007199254740993")).amount, 9_007_199_254_740_993n);
  const over = readBad(record({}, "9223372036854775808"));
  assertEquals(over.rule, "amount_out_of_range");
  assertStringIncludes(over.reason, "9223372036854775808");
  assertEquals(over.eventId, EVENT_ID);
  assertEquals(over.partial?.amount, "9223372036854775808");
});

Deno.test("readSettlementEvent: zero, negative, fractional, huge and string amounts are amount_out_of_range", () => {
  for (
    const text of [
      "0",
      "-5",
      "-0",
      "1.5",
      "1e400",
      "12345678901234567890.5",
      '"12"',
      "null",
      "true",
    ]
  ) {
    const r = readBad(record({}, text));
    assertEquals(r.rule, "amount_out_of_range", text);
  }
  const missing = readBad(JSON.stringify({ ...JSON.parse(record()), amount: undefined }));
  assertEquals(missing.rule, "amount_out_of_range");
});

Deno.test("readSettlementEvent: an unknown currency is unknown_currency, naming it", () => {
  const r = readBad(record({ currency: "XXY" }));
  assertEquals(r.rule, "unknown_currency");
  assertStringIncludes(r.reason, "XXY");
  assertEquals(r.partial?.currency, "XXY");
  assertEquals(readBad(record({ currency: "eur" })).rule, "unknown_currency");
  assertEquals(readBad(record({ currency: undefined })).rule, "unknown_currency");
});

Deno.test("readSettlementEvent: garbage, null, arrays and scalars are unparseable", () => {
  for (const value of ["not json", "{", "null", "[]", '[{"eventId":"a"}]', "42", '"text"', ""]) {
    assertEquals(readBad(value).rule, "unparseable", value);
  }
  const none = readBad(null);
  assertEquals(none.rule, "unparseable");
  assertStringIncludes(none.reason, "no value");
});

Deno.test("readSettlementEvent: a missing eventId falls back to the header, lower-cased", () => {
  const value = record({ eventId: undefined });
  assertEquals(readOk(value, EVENT_ID.toUpperCase()).eventId, EVENT_ID);
  // The body's id wins over the header's.
  assertEquals(readOk(record(), "ffffffff-0000-4000-8000-000000000000").eventId, EVENT_ID);
  const r = readBad(value);
  assertEquals(r.rule, "unparseable");
  assertStringIncludes(r.reason, "eventId");
});

Deno.test("readSettlementEvent: malformed ids, types and dates are unparseable, naming the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ eventId: "not a uuid!" }, "eventId"],
    [{ paymentId: "" }, "paymentId"],
    [{ paymentId: "bad id" }, "paymentId"],
    [{ merchantId: undefined }, "merchantId"],
    [{ type: "PAYMENT_EXPLODED" }, "type"],
    [{ occurredAt: "yesterday" }, "occurredAt"],
    [{ occurredAt: "2026-12-03" }, "occurredAt"],
    [{ occurredAt: 1_700_000_000_000 }, "occurredAt"],
  ];
  for (const [fields, name] of cases) {
    const r = readBad(record(fields));
    assertEquals(r.rule, "unparseable", name);
    assertStringIncludes(r.reason, name);
  }
});

Deno.test("readSettlementEvent: occurredAt with an offset is read as its instant", () => {
  const e = readOk(record({ occurredAt: "2026-12-04T00:00:00+09:00" }));
  assertEquals(e.occurredAt, Date.parse("2026-12-03T15:00:00Z"));
});

Deno.test("minorDigits: KRW 0, EUR 2, BHD 3, unknown null", () => {
  assertEquals(minorDigits("KRW"), 0);
  assertEquals(minorDigits("JPY"), 0);
  assertEquals(minorDigits("EUR"), 2);
  assertEquals(minorDigits("BHD"), 3);
  assertEquals(minorDigits("XXY"), null);
  assertEquals(minorDigits("eur"), null);
});

Deno.test("isUnreadable: tells a refusal from an event", () => {
  assert(isUnreadable(readSettlementEvent("nope")));
  assert(!isUnreadable(readSettlementEvent(record())));
});
