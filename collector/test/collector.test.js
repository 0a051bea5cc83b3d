// Tests of the collector's pure functions and of its consent gate, with Node's test runner:
//   node --test collector/test/
// (tests/e2e/test_collector_node.py runs this under pytest; the browser itself is tested in tests/e2e.)
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const C = require("../fraudscore-collector.js");

/**
 * A stand-in browser window that records every property read of navigator, screen and
 * document, every listener added and every cookie written: the consent tests assert on them.
 */
function fakeWindow() {
  const reads = [];
  const listeners = new Set();
  let cookieJar = "";
  let cookieWrites = 0;
  let clock = 1000;
  const watched = (name, target) => new Proxy(target, {
    get(obj, prop) {
      if (typeof prop === "string") reads.push(name + "." + prop);
      return obj[prop];
    },
  });
  function eventTarget(extra) {
    const handlers = {};
    return Object.assign(extra, {
      addEventListener(type, fn) {
        (handlers[type] = handlers[type] || new Set()).add(fn);
        listeners.add(type + ":" + fn.name + ":" + (extra === win ? "w" : "d"));
      },
      removeEventListener(type, fn) {
        if (handlers[type]) handlers[type].delete(fn);
        listeners.delete(type + ":" + fn.name + ":" + (extra === win ? "w" : "d"));
      },
      dispatch(type, props) {
        const event = Object.assign({ type, target: extra, timeStamp: 0, repeat: false }, props);
        for (const fn of handlers[type] || []) fn(event);
      },
    });
  }
  const navigator = watched("navigator", {
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36", platform: "Linux x86_64",
    languages: ["en-US", "en"], plugins: [], hardwareConcurrency: 4, deviceMemory: 8, maxTouchPoints: 0,
    webdriver: false, cookieEnabled: true, connection: { effectiveType: "4g" },
    getBattery: () => Promise.resolve({ level: 0.5, charging: false }),
  });
  const screen = watched("screen", { width: 1280, height: 800, availWidth: 1280, availHeight: 770, colorDepth: 24 });
  const documentTarget = eventTarget({});
  const document = new Proxy(documentTarget, {
    get(obj, prop) {
      if (prop === "cookie") { reads.push("document.cookie"); return cookieJar; }
      if (prop === "referrer") { reads.push("document.referrer"); return "https://panel.example/invite"; }
      if (prop === "createElement") {
        reads.push("document.createElement");
        return () => ({ getContext: () => null });
      }
      return obj[prop];
    },
    set(obj, prop, value) {
      if (prop === "cookie") { cookieWrites++; cookieJar = value.split(";")[0]; return true; }
      obj[prop] = value;
      return true;
    },
  });
  let scrollY = 0;
  const win = eventTarget({});
  Object.assign(win, {
    document, navigator, screen, devicePixelRatio: 1, Intl,
    crypto: { getRandomValues: (a) => { for (let i = 0; i < a.length; i++) a[i] = (i * 37 + 11) & 255; return a; } },
    performance: { now: () => clock, timeOrigin: 1.7e12 },
    tick(ms) { clock += ms; },
    location: { protocol: "http:" },
    scrollTo(y) { scrollY = y; },
    reads: () => reads.slice(),
    listenerCount: () => listeners.size,
    cookieWrites: () => cookieWrites,
  });
  Object.defineProperty(win, "scrollY", { get: () => scrollY });
  return win;
}

test("key events become kinds only: backspace/delete, other presses, releases; repeats dropped", () => {
  assert.equal(C.keyKind("keydown", "a", false), "keydown");
  assert.equal(C.keyKind("keydown", "Shift", false), "keydown");
  assert.equal(C.keyKind("keydown", "Backspace", false), "backspace");
  assert.equal(C.keyKind("keydown", "Delete", false), "backspace");
  assert.equal(C.keyKind("keyup", "a", false), "keyup");
  assert.equal(C.keyKind("keydown", "a", true), null);
  assert.equal(C.keyKind("keypress", "a", false), null);
  for (const kind of ["keydown", "keyup", "backspace"]) assert.ok(C.KINDS.keys.includes(kind));
});

test("pointer event types map to the schema's pointer kinds", () => {
  assert.deepEqual(["pointermove", "pointerdown", "pointerup", "click"].map(C.pointerKind), ["move", "down", "up", "click"]);
  assert.equal(C.pointerKind("mouseover"), null);
});

test("a stream keeps the first cap events and counts the rest as dropped", () => {
  const s = new C.Stream(["t", "kind"], 3);
  for (let i = 0; i < 5; i++) s.push([i, "focus"]);
  assert.equal(s.size(), 3);
  assert.equal(s.dropped, 2);
  assert.deepEqual(s.toJSON(), { t: [0, 1, 2], kind: ["focus", "focus", "focus"] });
});

test("a stream hands over its columns sorted by time, stably, with every column permuted alike", () => {
  const s = new C.Stream(["t", "x", "y", "kind"], 10);
  s.push([10, 1, 1, "down"]);
  s.push([12, 2, 2, "up"]);
  s.push([11.9, 3, 3, "click"]);
  s.push([12, 4, 4, "move"]);
  assert.deepEqual(s.toJSON(), { t: [10, 11.9, 12, 12], x: [1, 3, 2, 4], y: [1, 3, 2, 4], kind: ["down", "click", "up", "move"] });
  assert.equal(C.sortOrder([1, 2, 2, 3]), null);
});

test("the collector caps every stream at the library's 50,000 events", () => {
  assert.equal(C.LIMITS.events, 50000);
  const win = fakeWindow();
  const col = C.create({ window: win, maxEvents: 10 ** 9 }).setConsent({ analytics: true });
  for (let i = 0; i < 50010; i++) win.document.dispatch("pointermove", { timeStamp: 1 + i, clientX: i % 500, clientY: 3 });
  assert.equal(col.telemetry().pointer.t.length, 50000);
  assert.equal(col.dropped().pointer, 10);
});

test("item time: each answer closes the interval since the previous one, from when the survey was shown", () => {
  // shown at 1000; item 0 answered at 3000, item 1 at 4500, item 1 changed at 5000, item 2 never
  assert.deepEqual(C.itemTimes([[4500, 1], [3000, 0], [5000, 1]], 3, 1000), [2000, 2000, 0]);
  // going back to an earlier item adds to it; marks before the survey was shown are ignored
  assert.deepEqual(C.itemTimes([[500, 0], [2000, 0], [3000, 1], [3500, 0]], 2, 1000), [1500, 1000]);
  assert.equal(C.itemTimes([], 5000, 0).length, C.LIMITS.items);
});

test("time zone offset is minutes east of UTC, never -0", () => {
  assert.equal(C.tzOffsetMinutes({ getTimezoneOffset: () => 60 }), -60); // UTC-1
  assert.equal(C.tzOffsetMinutes({ getTimezoneOffset: () => -330 }), 330); // India
  assert.ok(Object.is(C.tzOffsetMinutes({ getTimezoneOffset: () => -0 }), 0));
});

test("hashString is deterministic, 14 hex digits, and sensitive to one character", () => {
  const h = C.hashString("canvas data");
  assert.match(h, /^[0-9a-f]{14}$/);
  assert.equal(h, C.hashString("canvas data"));
  assert.notEqual(h, C.hashString("canvas datb"));
});

test("readDevice keeps in-range values, clips text to the schema's limits and omits the rest", () => {
  const d = C.readDevice({
    navigator: {
      userAgent: "U".repeat(3000), platform: "Linux x86_64", hardwareConcurrency: 8, deviceMemory: 0.01,
      maxTouchPoints: 0, languages: ["en-US", "", "en"], plugins: [{ name: "PDF Viewer" }], webdriver: false,
      cookieEnabled: true, connection: { effectiveType: "4g" },
    },
    screen: { width: 1920, height: 1080, availWidth: 1920, availHeight: 0, colorDepth: 24 },
    devicePixelRatio: 1.5,
    date: { getTimezoneOffset: () => 300 },
    intl: { DateTimeFormat: () => ({ resolvedOptions: () => ({ timeZone: "America/Chicago" }) }) },
  });
  assert.equal(d.user_agent.length, 2048);
  assert.deepEqual(d.screen, [1920, 1080]);
  assert.equal(d.avail_screen, undefined); // height 0 is outside [1, 100000]
  assert.equal(d.device_memory_gb, undefined); // below the schema's 0.125 GiB
  assert.deepEqual(d.languages, ["en-US", "en"]);
  assert.deepEqual(d.plugins, ["PDF Viewer"]);
  assert.equal(d.tz_offset_min, -300);
  assert.equal(d.timezone, "America/Chicago");
  assert.equal(d.webdriver, false);
  assert.equal(d.connection, "4g");
});

test("detectFonts reports a font when its text measures differently from every fallback's", () => {
  const ctx = {
    font: "",
    measureText() { return { width: this.font.includes("'Roboto'") ? 101 : 100 }; },
  };
  assert.deepEqual(C.detectFonts(ctx, ["Arial", "Roboto"]), ["Roboto"]);
});

test("readCookie finds a cookie among others and decodes it", () => {
  assert.equal(C.readCookie("a=1; fs_cid=abc%20d; b=2", "fs_cid"), "abc d");
  assert.equal(C.readCookie("fs_cid_old=1", "fs_cid"), null);
  assert.match(C.randomId(null), /^[0-9a-f]{32}$/);
});

test("buildSubmission drops device, network and telemetry unless their consent is exactly true", () => {
  const parts = {
    startedAt: 1000.4, submittedAt: 61000.6, referrer: "https://panel.example/x",
    device: { webdriver: false }, telemetry: { item_ms: [1] },
  };
  const base = { survey_id: "s", answers: { likert: [1] }, device: { injected: 1 }, consent: { usage: true } };
  const none = C.buildSubmission(base, { ...parts, consent: { usage: "yes", analytics: 1 } });
  assert.deepEqual(none, { survey_id: "s", answers: { likert: [1] }, started_at: 1000, submitted_at: 61001,
    consent: { usage: false, analytics: false } });
  const usage = C.buildSubmission(base, { ...parts, consent: { usage: true } });
  assert.deepEqual(usage.device, { webdriver: false });
  assert.deepEqual(usage.network, { referrer: "https://panel.example/x" });
  assert.equal(usage.telemetry, undefined);
  const analytics = C.buildSubmission(base, { ...parts, consent: { analytics: true } });
  assert.equal(analytics.device, undefined);
  assert.deepEqual(analytics.telemetry, { item_ms: [1] });
});

test("before consent is known the collector reads nothing and listens to nothing", () => {
  const win = fakeWindow();
  const col = C.create({ window: win, items: 3 });
  win.document.dispatch("keydown", { key: "a", timeStamp: 5 });
  col.item(0);
  assert.deepEqual(win.reads(), []);
  assert.equal(win.listenerCount(), 0);
  assert.equal(col.consent, null);
  assert.equal(col.telemetry(), null);
});

test("consent withheld: no listener, no device read, and finish() sends consent false and nothing gated", async () => {
  const win = fakeWindow();
  const col = C.create({ window: win, items: 2 }).setConsent({ usage: false, analytics: false });
  win.document.dispatch("pointermove", { clientX: 1, clientY: 2, timeStamp: 3 });
  col.item(0);
  assert.equal(win.listenerCount(), 0);
  const sub = await col.finish({ survey_id: "s", answers: { likert: [3, 4] } });
  assert.deepEqual(Object.keys(sub).sort(), ["answers", "consent", "started_at", "submitted_at", "survey_id"]);
  assert.deepEqual(sub.consent, { usage: false, analytics: false });
  assert.deepEqual(win.reads(), []);
  assert.equal(win.cookieWrites(), 0);
});

test("a second consent call cannot widen the first decision", () => {
  const win = fakeWindow();
  const col = C.create({ window: win }).setConsent({ usage: false, analytics: false });
  col.setConsent({ usage: true, analytics: true });
  assert.deepEqual(col.consent, { usage: false, analytics: false });
  assert.equal(win.listenerCount(), 0);
});

test("analytics consent only: telemetry without device attributes; keys recorded as kinds", async () => {
  const win = fakeWindow();
  const col = C.create({ window: win, items: 2 }).setConsent({ analytics: true });
  const d = win.document;
  d.dispatch("pointermove", { clientX: 10.04, clientY: 20, timeStamp: 100.04 });
  d.dispatch("pointerdown", { clientX: 11, clientY: 21, timeStamp: 150 });
  d.dispatch("pointerup", { clientX: 11, clientY: 21, timeStamp: 210 });
  d.dispatch("click", { clientX: 11, clientY: 21, timeStamp: 209.9 });
  d.dispatch("keydown", { key: "h", timeStamp: 300 });
  d.dispatch("keyup", { key: "h", timeStamp: 360 });
  d.dispatch("keydown", { key: "Backspace", timeStamp: 500 });
  d.dispatch("keydown", { key: "Backspace", repeat: true, timeStamp: 530 });
  d.dispatch("paste", { timeStamp: 700 });
  win.scrollTo(240);
  win.dispatch("scroll", { timeStamp: 800 });
  win.dispatch("blur", { timeStamp: 900 });
  win.dispatch("focus", { timeStamp: 1900 });
  win.tick(10);
  col.item(1);
  const sub = await col.finish({ survey_id: "s" });
  assert.equal(sub.device, undefined);
  assert.equal(sub.network, undefined);
  const t = sub.telemetry;
  assert.deepEqual(t.pointer, { t: [100, 150, 209.9, 210], x: [10, 11, 11, 11], y: [20, 21, 21, 21],
    kind: ["move", "down", "click", "up"] });
  assert.deepEqual(t.keys, { t: [300, 360, 500, 700], kind: ["keydown", "keyup", "backspace", "paste"] });
  assert.deepEqual(t.scroll, { t: [800], dy: [240] });
  assert.deepEqual(t.focus, { t: [900, 1900], kind: ["blur", "focus"] });
  assert.deepEqual(t.item_ms, [0, 10]);
  assert.ok(!JSON.stringify(sub).includes('"h"'), "a key value leaked into the payload");
  assert.equal(win.listenerCount(), 0, "finish() removes every listener");
});

test("usage consent: device attributes, a first-party cookie id, and the page's referrer", async () => {
  const win = fakeWindow();
  const col = C.create({ window: win }).setConsent({ usage: true });
  const sub = await col.finish({ survey_id: "s" });
  assert.equal(sub.telemetry, undefined);
  assert.equal(sub.device.user_agent, win.navigator.userAgent);
  assert.deepEqual(sub.device.battery, { level: 0.5, charging: false });
  assert.match(sub.device.cookie_id, /^[0-9a-f]{32}$/);
  assert.equal(win.cookieWrites(), 1);
  assert.deepEqual(sub.network, { referrer: "https://panel.example/invite" });
  assert.equal(win.listenerCount(), 0);
});
