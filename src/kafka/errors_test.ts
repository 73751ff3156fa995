import { assert, assertEquals, assertFalse } from "@std/assert";
import {
  describeKafkaError,
  isPerRecordError,
  kafkaErrorType,
  PublishTimeoutError,
} from "./errors.ts";

class FakeProtocolError extends Error {
  constructor(readonly type: string, readonly retriable: boolean) {
    super(`protocol error ${type}`);
  }
}

Deno.test("a per-record protocol error is ignored by the breaker", () => {
  assert(isPerRecordError(new FakeProtocolError("MESSAGE_TOO_LARGE", false)));
  assert(isPerRecordError(new FakeProtocolError("TOPIC_AUTHORIZATION_FAILED", false)));
});

Deno.test("a per-record error wrapped by the retrier is still found", () => {
  const wrapped = Object.assign(new Error("retries exceeded"), {
    originalError: new FakeProtocolError("INVALID_RECORD", false),
  });
  assertEquals(kafkaErrorType(wrapped), "INVALID_RECORD");
  assert(isPerRecordError(wrapped));
});

Deno.test("broker, network and timeout errors count against the breaker", () => {
  assertFalse(isPerRecordError(new FakeProtocolError("NOT_LEADER_FOR_PARTITION", true)));
  assertFalse(isPerRecordError(new Error("Connection error: ECONNREFUSED")));
  assertFalse(isPerRecordError(new PublishTimeoutError(100)));
});

Deno.test("describeKafkaError names the protocol type once", () => {
  assertEquals(
    describeKafkaError(new FakeProtocolError("MESSAGE_TOO_LARGE", false)),
    "protocol error MESSAGE_TOO_LARGE",
  );
  const e = Object.assign(new Error("boom"), { type: "CORRUPT_MESSAGE" });
  assertEquals(describeKafkaError(e), "CORRUPT_MESSAGE: boom");
});
