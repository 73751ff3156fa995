import { assertEquals } from "@std/assert";
import { groupLag, partitionLag } from "./lag.ts";

Deno.test("partitionLag: high watermark minus the committed offset", () => {
  assertEquals(partitionLag({ low: "0", high: "10" }, "4"), 6);
  assertEquals(partitionLag({ low: "0", high: "10" }, "10"), 0);
  assertEquals(partitionLag({ low: "0", high: "0" }, "0"), 0);
});

Deno.test("partitionLag: records deleted by retention are not lag", () => {
  assertEquals(partitionLag({ low: "100", high: "150" }, "20"), 50);
});

Deno.test("partitionLag: without a commit the group lags by what its reset policy reads first", () => {
  assertEquals(partitionLag({ low: "5", high: "12" }, null), 7);
  assertEquals(partitionLag({ low: "5", high: "12" }, "-1"), 7);
  assertEquals(partitionLag({ low: "5", high: "12" }, "-1", "latest"), 0);
  assertEquals(partitionLag({ low: "0", high: "0" }, null), 0);
});

Deno.test("partitionLag: never negative when the commit is past the high watermark", () => {
  assertEquals(partitionLag({ low: "0", high: "3" }, "7"), 0);
});

Deno.test("partitionLag: offsets beyond 2^53 are subtracted exactly", () => {
  assertEquals(partitionLag({ low: "0", high: "9007199254740999" }, "9007199254740993"), 6);
});

Deno.test("groupLag: every partition of the topic, sorted; missing commits use the reset policy", () => {
  const marks = [
    { partition: 2, low: "0", high: "8" },
    { partition: 0, low: "0", high: "5" },
    { partition: 1, low: "3", high: "3" },
  ];
  assertEquals(groupLag(marks, [{ partition: 0, offset: "5" }, { partition: 2, offset: "6" }]), [
    { partition: 0, lag: 0 },
    { partition: 1, lag: 0 },
    { partition: 2, lag: 2 },
  ]);
  assertEquals(groupLag(marks, [{ partition: 0, offset: "-1" }], "latest"), [
    { partition: 0, lag: 0 },
    { partition: 1, lag: 0 },
    { partition: 2, lag: 0 },
  ]);
  assertEquals(groupLag(marks, []).map((p) => p.lag), [5, 0, 8]);
});
