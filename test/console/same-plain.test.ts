// samePlain: the store's test of "nothing new" for rows and views, made without strings.
import assert from "node:assert/strict";
import { test } from "node:test";
import { samePlain } from "../../console/store/wire.ts";

test("samePlain compares plain data in place: values, arrays, objects, nesting", () => {
  assert.ok(samePlain(1, 1));
  assert.ok(samePlain("a", "a"));
  assert.ok(samePlain(null, null));
  assert.ok(samePlain(Number.NaN, Number.NaN));
  assert.ok(!samePlain(1, "1"));
  assert.ok(!samePlain(null, {}));
  assert.ok(!samePlain(undefined, null));
  const row = { node: "n1", ports: [{ hostPort: 8080, route: "" }], cpu: 0.5 };
  assert.ok(samePlain(row, structuredClone(row)));
  assert.ok(!samePlain(row, { ...row, ports: [{ hostPort: 8081, route: "" }] }));
  assert.ok(!samePlain(row, { ...row, extra: 1 }));
  assert.ok(!samePlain({ a: 1, b: undefined }, { a: 1, c: undefined }), "the same number of keys, not the same keys");
  assert.ok(!samePlain([1, 2], [1, 2, 3]));
  assert.ok(!samePlain([1, 2], { 0: 1, 1: 2 }));
  assert.ok(!samePlain({ 0: 1, 1: 2 }, [1, 2]));
  assert.ok(samePlain([[1], [2, [3]]], [[1], [2, [3]]]));
});
