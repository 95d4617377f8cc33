import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ENVIRONMENTS,
  PlacementError,
  ephemeralOverlap,
  formatMachineRegistry,
  machineNumberFor,
  parseMachineRegistry,
  place,
  sheetNumber,
} from "../../lib/smep/smep.ts";

describe("SMEP numbers", () => {
  test("sheet numbers follow get_sheet_number (md5 of the name plus newline, first hex digit mod 9, plus 1)", () => {
    assert.equal(sheetNumber("dynamicalsystem"), 1); // md5 starts with 9
    assert.equal(sheetNumber("acmecorp"), 3); // 2 → 3
    assert.equal(sheetNumber("topsheet"), 4); // 3 → 4 (by the formula)
    assert.equal(sheetNumber("mycompany"), 7); // 6 → 7
  });

  test("the issue's worked examples", () => {
    const gazette = place({ service: "gazette", environment: "prod", sheet: "dynamicalsystem", machineNumber: 1 });
    assert.equal(gazette.uid, 10100);
    assert.deepEqual(gazette.ports, [10100, 10101, 10102, 10103, 10104, 10105, 10106, 10107, 10108, 10109]);
    assert.equal(gazette.user, "gazette-prod");
    assert.equal(place({ service: "lldap", environment: "test", sheet: "dynamicalsystem", machineNumber: 2 }).uid, 10210);
    // By the formula gazette-test is 10110.
    assert.equal(place({ service: "gazette", environment: "test", sheet: "dynamicalsystem", machineNumber: 1 }).uid, 10110);
  });

  test("every environment has its own UID block", () => {
    const uids = Object.keys(ENVIRONMENTS).map((e) => place({ service: "gazette", environment: e, sheet: "dynamicalsystem", machineNumber: 1 }).uid);
    assert.deepEqual(uids, [10100, 10110, 10120, 10130, 10140, 10150, 10160, 10170, 10180, 10190]);
    assert.equal(place({ service: "x", environment: "canary", sheet: "acmecorp", machineNumber: 42 }).uid, 34280);
  });

  test("placements past port 65535 are refused with the reason and the way out", () => {
    assert.throws(
      () => place({ service: "app", environment: "prod", sheet: "mycompany", machineNumber: 1 }),
      (e: unknown) =>
        e instanceof PlacementError &&
        /UID 70100 and ports 70100-70109, past the last TCP port 65535/.test(e.message) &&
        /hash of sheet "mycompany" gives 7/.test(e.message) &&
        /no room for any machine/.test(e.message) &&
        /Set sheet_number/.test(e.message),
    );
    assert.throws(() => place({ service: "app", environment: "local", sheet: "s", sheetNumber: 6, machineNumber: 55 }), /up to 54/);
    assert.equal(place({ service: "app", environment: "local", sheet: "s", sheetNumber: 6, machineNumber: 54 }).ports.at(-1), 65499);
    assert.equal(
      place({ service: "app", environment: "prod", sheet: "mycompany", sheetNumber: 2, machineNumber: 1 }).uid,
      20100,
      "sheet_number overrides the hash",
    );
  });

  test("unknown environments and bad sheet numbers are refused", () => {
    assert.throws(
      () => place({ service: "a", environment: "production", sheet: "s", machineNumber: 1 }),
      /unknown environment "production": use one of prod, test/,
    );
    assert.throws(() => place({ service: "a", environment: "prod", sheet: "s", sheetNumber: 0, machineNumber: 1 }), /must be 1-9/);
  });

  test("ports in the kernel's ephemeral range are reported", () => {
    assert.deepEqual(ephemeralOverlap([32766, 32767, 32768, 32769], [32768, 60999]), [32768, 32769]);
  });
});

describe("machine registry", () => {
  test("parses name=NN lines and writes them back sorted", () => {
    const r = parseMachineRegistry("# sheet machines\nstation=00\ngazette=01\n\nlldap = 02\n");
    assert.deepEqual(
      [...r],
      [
        ["station", 0],
        ["gazette", 1],
        ["lldap", 2],
      ],
    );
    assert.equal(formatMachineRegistry(r), "station=00\ngazette=01\nlldap=02\n");
  });

  test("refuses malformed lines, duplicates and 00 for anything but the station", () => {
    assert.throws(() => parseMachineRegistry("gazette 01"), /line 1: expected name=NN/);
    assert.throws(() => parseMachineRegistry("a=01\na=02"), /a is listed twice/);
    assert.throws(() => parseMachineRegistry("a=01\nb=1"), /number 01 is already a's/);
    assert.throws(() => parseMachineRegistry("web=00"), /00 is the station's number/);
    assert.throws(() => parseMachineRegistry("a=100"), /expected name=NN/);
  });

  test("a service keeps its number; a new one gets the lowest free; pins are checked", () => {
    const r = parseMachineRegistry("gazette=01\nlldap=02\nredis=04\n");
    assert.deepEqual(machineNumberFor("lldap", r), { number: 2, assigned: false });
    assert.deepEqual(machineNumberFor("newsvc", r), { number: 3, assigned: true });
    assert.deepEqual(machineNumberFor("newsvc", r, 10), { number: 10, assigned: true });
    assert.throws(() => machineNumberFor("newsvc", r, 4), /already belongs to redis/);
    assert.throws(() => machineNumberFor("newsvc", r, 0), /must be 01-99/);
    const full = new Map(Array.from({ length: 99 }, (_, i) => [`s${i}`, i + 1] as [string, number]));
    assert.throws(() => machineNumberFor("one-more", full), /registry is full/);
  });
});
