/*
 * fraudscore-collector.js: the browser side of fraudscore's input contract.
 *
 * A survey page includes this file, asks the respondent for consent, then hands the decision to
 * the collector. Nothing is read, stored or listened to before that call: without consent the
 * collector has no event listeners and has read no device attribute. What it collects is exactly
 * the fields of docs/SCHEMA.md (device attributes under `consent.usage`, pointer/scroll/key/focus
 * telemetry and per-item time under `consent.analytics`); docs/COLLECTOR.md says why each one is
 * collected. Key events are recorded as kinds only (keydown, keyup, backspace, paste): the key's
 * value is never read beyond "is it Backspace/Delete" and never stored.
 *
 * The collector never sends anything itself: `finish(base)` returns the submission object and the
 * page posts it with its answers.
 *
 * Plain ES2020, no dependencies, no build step. In a browser it defines `FraudscoreCollector`;
 * under Node (`require`) it exports the same object, so the pure functions are tested with
 * `node --test collector/test/`.
 *
 * Usage:
 *
 *   const collector = FraudscoreCollector.create({ items: 10 });
 *   // ... the respondent answers the consent question ...
 *   collector.setConsent({ usage: true, analytics: false });
 *   input.addEventListener("change", () => collector.item(3));   // item 3 answered
 *   const submission = await collector.finish({ survey_id: "s1", answers: {...} });
 *   fetch("/submit", { method: "POST", body: JSON.stringify(submission) });
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.FraudscoreCollector = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var VERSION = "0.1.0";

  // The library's own limits (fraudscore/schema.py): anything longer is truncated there with a
  // warning, so the collector stops at the same size and a payload validates without warnings.
  var LIMITS = Object.freeze({
    events: 50000, // per telemetry stream
    items: 1000, // telemetry.item_ms
    text: 512, // platform, WebGL strings, plugin names, accept-language
    shortText: 64, // languages, time zone
    userAgent: 2048,
    referrer: 2048,
    id: 128, // cookie id and hashes
    languages: 32,
    plugins: 64,
    connection: 32,
  });

  // Event kinds: the vocabularies of schema.KIND_VOCABULARIES.
  var KINDS = Object.freeze({
    pointer: Object.freeze(["move", "down", "up", "click"]),
    keys: Object.freeze(["keydown", "keyup", "backspace", "paste"]),
    focus: Object.freeze(["blur", "focus"]),
  });

  // Fonts probed for fonts_hash: common system fonts that differ between OSes and installs.
  var PROBE_FONTS = Object.freeze([
    "Arial", "Arial Black", "Calibri", "Cambria", "Candara", "Comic Sans MS", "Consolas",
    "Courier New", "DejaVu Sans", "Droid Sans", "Futura", "Garamond", "Georgia", "Gill Sans",
    "Helvetica", "Helvetica Neue", "Impact", "Liberation Sans", "Lucida Console", "Lucida Grande",
    "Menlo", "Monaco", "Noto Sans", "Noto Color Emoji", "Optima", "Palatino", "Roboto",
    "Segoe UI", "Tahoma", "Times New Roman", "Trebuchet MS", "Ubuntu", "Verdana",
  ]);

  // ------------------------------------------------------------------ pure helpers

  /** Round to one decimal: sub-0.1 ms / sub-0.1 px precision only inflates the payload. */
  function round1(v) {
    return Math.round(v * 10) / 10;
  }

  /** Text clipped to the library's limit for that field; null for anything that is not text. */
  function clipText(value, max) {
    if (typeof value !== "string" || value.length === 0) return null;
    return value.length > max ? value.slice(0, max) : value;
  }

  /** A list of texts, each clipped, at most `maxItems` long; empty entries dropped. */
  function clipList(values, maxLen, maxItems) {
    var out = [];
    if (!values) return out;
    for (var i = 0; i < values.length && out.length < maxItems; i++) {
      var v = clipText(values[i], maxLen);
      if (v !== null) out.push(v);
    }
    return out;
  }

  /** Finite number or null. */
  function num(v) {
    return typeof v === "number" && isFinite(v) ? v : null;
  }

  /** Whole number within [lo, hi] or null (the schema's valid range; outside it is a warning). */
  function intIn(v, lo, hi) {
    v = num(v);
    if (v === null) return null;
    v = Math.round(v);
    return v >= lo && v <= hi ? v : null;
  }

  /** Number within [lo, hi] or null. */
  function floatIn(v, lo, hi) {
    v = num(v);
    return v !== null && v >= lo && v <= hi ? v : null;
  }

  /**
   * 53-bit string hash (cyrb53) as 14 hex digits.
   *
   * The canvas, audio and font probes are reduced to a short hash in the page so the raw
   * rendering (which can be large) never leaves it; fraudscore keys the hash again before storing.
   */
  function hashString(str) {
    var h1 = 0xdeadbeef, h2 = 0x41c6ce57;
    for (var i = 0; i < str.length; i++) {
      var ch = str.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    var n = 4294967296 * (2097151 & h2) + (h1 >>> 0);
    return ("00000000000000" + n.toString(16)).slice(-14);
  }

  /**
   * Key event kind, never the key: "backspace" for Backspace/Delete presses, "keydown" for any
   * other press, "keyup" for releases, null for auto-repeat (a held key fires at the OS repeat
   * rate, a machine rhythm that is not typing).
   */
  function keyKind(type, key, repeat) {
    if (repeat) return null;
    if (type === "keyup") return "keyup";
    if (type !== "keydown") return null;
    return key === "Backspace" || key === "Delete" ? "backspace" : "keydown";
  }

  /** Pointer event kind for a DOM event type, or null. */
  function pointerKind(type) {
    switch (type) {
      case "pointermove": return "move";
      case "pointerdown": return "down";
      case "pointerup": return "up";
      case "click": return "click";
      default: return null;
    }
  }

  /**
   * A bounded telemetry stream: parallel columns, one value each per event.
   *
   * Keeps the first `cap` events and counts the rest as dropped (the library truncates the same
   * way), so memory stays bounded however long the page stays open.
   */
  function Stream(names, cap) {
    this.names = names.slice();
    this.cap = cap;
    this.columns = {};
    this.dropped = 0;
    for (var i = 0; i < names.length; i++) this.columns[names[i]] = [];
  }

  Stream.prototype.size = function () {
    return this.columns[this.names[0]].length;
  };

  /** Append one event (values in column order); false when the stream is full. */
  Stream.prototype.push = function (values) {
    if (this.size() >= this.cap) {
      this.dropped++;
      return false;
    }
    for (var i = 0; i < this.names.length; i++) this.columns[this.names[i]].push(values[i]);
    return true;
  };

  /**
   * The stream as the contract's parallel arrays, sorted by time.
   *
   * Browsers stamp events of different types from different clocks (a click is synthesised after
   * its pointerup), so times can step back by a fraction of a millisecond; the library would
   * repair that with a warning, so the collector hands over a stable sort instead.
   */
  Stream.prototype.toJSON = function () {
    var t = this.columns[this.names[0]];
    var order = sortOrder(t);
    var out = {};
    for (var i = 0; i < this.names.length; i++) {
      var col = this.columns[this.names[i]];
      out[this.names[i]] = order === null ? col.slice() : order.map(function (j) { return col[j]; });
    }
    return out;
  };

  /** Indices that stably sort `t`, or null when it is already sorted. */
  function sortOrder(t) {
    var sorted = true;
    for (var i = 1; i < t.length; i++) {
      if (t[i] < t[i - 1]) { sorted = false; break; }
    }
    if (sorted) return null;
    var idx = t.map(function (_, k) { return k; });
    idx.sort(function (a, b) { return t[a] - t[b] || a - b; });
    return idx;
  }

  /**
   * Time per item from answer marks.
   *
   * Each mark (time, item) closes the interval since the previous mark (or since `t0`, when the
   * survey was shown) and adds it to that item: on a one-page survey the time from one answer to
   * the next is the time spent reading and answering the next item (the simulator's definition).
   * Items never answered get 0.
   *
   * @param {Array<[number, number]>} marks  [t_ms, item_index] in any order
   * @param {number} nItems
   * @param {number} t0  time the survey became visible, ms
   * @returns {number[]} length nItems (at most LIMITS.items), ms rounded to 0.1
   */
  function itemTimes(marks, nItems, t0) {
    var n = Math.max(0, Math.min(nItems | 0, LIMITS.items));
    var out = new Array(n).fill(0);
    var sorted = marks.slice().sort(function (a, b) { return a[0] - b[0]; });
    var prev = t0;
    for (var i = 0; i < sorted.length; i++) {
      var t = sorted[i][0], item = sorted[i][1];
      if (t < prev) continue; // a mark from before the survey was shown
      if (item >= 0 && item < n) out[item] += t - prev;
      prev = t;
    }
    return out.map(round1);
  }

  /** Minutes east of UTC (the schema's sign; Date#getTimezoneOffset is minutes *west*). */
  function tzOffsetMinutes(date) {
    var off = -date.getTimezoneOffset();
    return off === 0 ? 0 : off; // never -0 in the JSON
  }

  /** Read a cookie's value from a `document.cookie` string. */
  function readCookie(cookieString, name) {
    var parts = (cookieString || "").split(";");
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].trim();
      if (kv.indexOf(name + "=") === 0) return decodeURIComponent(kv.slice(name.length + 1));
    }
    return null;
  }

  /** Random 128-bit id as 32 hex digits (crypto-quality where available). */
  function randomId(cryptoObj) {
    var bytes = new Uint8Array(16);
    if (cryptoObj && cryptoObj.getRandomValues) {
      cryptoObj.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /** Remove null/undefined values (and empty objects) so absent means "not collected". */
  function compact(obj) {
    var out = {};
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (v === null || v === undefined) return;
      if (typeof v === "object" && !Array.isArray(v)) {
        v = compact(v);
        if (Object.keys(v).length === 0) return;
      }
      out[k] = v;
    });
    return out;
  }

  /**
   * The synchronous device attributes, from the browser objects passed in.
   *
   * Pure given its arguments, so Node tests pass plain objects. Values outside the schema's
   * valid range are left out rather than sent as an invalid value.
   *
   * @param {object} env  {navigator, screen, devicePixelRatio, date, intl}
   */
  function readDevice(env) {
    var nav = env.navigator || {};
    var scr = env.screen || {};
    var tz = null;
    try {
      tz = env.intl ? env.intl.DateTimeFormat().resolvedOptions().timeZone : null;
    } catch (e) {
      tz = null;
    }
    var pair = function (w, h) {
      w = intIn(w, 1, 100000);
      h = intIn(h, 1, 100000);
      return w !== null && h !== null ? [w, h] : null;
    };
    var languages = nav.languages && nav.languages.length ? nav.languages : (nav.language ? [nav.language] : []);
    var plugins = [];
    if (nav.plugins) {
      for (var i = 0; i < nav.plugins.length; i++) plugins.push(nav.plugins[i] && nav.plugins[i].name);
    }
    var connection = nav.connection || null;
    return compact({
      user_agent: clipText(nav.userAgent, LIMITS.userAgent),
      platform: clipText(nav.platform, LIMITS.text),
      screen: pair(scr.width, scr.height),
      avail_screen: pair(scr.availWidth, scr.availHeight),
      color_depth: intIn(scr.colorDepth, 1, 64),
      pixel_ratio: floatIn(env.devicePixelRatio, 0.1, 16),
      hardware_concurrency: intIn(nav.hardwareConcurrency, 1, 1024),
      device_memory_gb: floatIn(nav.deviceMemory, 0.125, 4096),
      touch_points: intIn(nav.maxTouchPoints, 0, 256),
      timezone: clipText(tz, LIMITS.shortText),
      tz_offset_min: env.date ? intIn(tzOffsetMinutes(env.date), -840, 840) : null,
      languages: clipList(languages, LIMITS.shortText, LIMITS.languages),
      plugins: clipList(plugins, LIMITS.text, LIMITS.plugins),
      webdriver: typeof nav.webdriver === "boolean" ? nav.webdriver : null,
      cookies_enabled: typeof nav.cookieEnabled === "boolean" ? nav.cookieEnabled : null,
      connection: connection ? clipText(connection.effectiveType, LIMITS.connection) : null,
    });
  }

  /**
   * Unmasked WebGL vendor and renderer (the GPU), or {} where WebGL is unavailable.
   * The context is released at once: browsers cap the number of live WebGL contexts.
   */
  function readWebGL(doc) {
    try {
      var canvas = doc.createElement("canvas");
      var gl = canvas.getContext("webgl") || canvas.getContext("experimental-webgl");
      if (!gl) return {};
      var ext = gl.getExtension("WEBGL_debug_renderer_info");
      var vendor = gl.getParameter(ext ? ext.UNMASKED_VENDOR_WEBGL : gl.VENDOR);
      var renderer = gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
      var lose = gl.getExtension("WEBGL_lose_context");
      if (lose) lose.loseContext();
      return compact({ webgl_vendor: clipText(vendor, LIMITS.text), webgl_renderer: clipText(renderer, LIMITS.text) });
    } catch (e) {
      return {};
    }
  }

  /** Hash of a fixed canvas drawing: the same text renders differently per GPU, driver and font stack. */
  function canvasHash(doc) {
    try {
      var canvas = doc.createElement("canvas");
      canvas.width = 240;
      canvas.height = 60;
      var ctx = canvas.getContext("2d");
      if (!ctx) return null;
      ctx.textBaseline = "alphabetic";
      ctx.fillStyle = "#f60";
      ctx.fillRect(100, 1, 62, 20);
      ctx.fillStyle = "#069";
      ctx.font = "15px 'Arial'";
      ctx.fillText("fraudscore, survey \u00e9\u00df \ud83d\ude03", 2, 15);
      ctx.fillStyle = "rgba(102, 204, 0, 0.7)";
      ctx.font = "18px serif";
      ctx.fillText("fraudscore, survey", 4, 45);
      ctx.beginPath();
      ctx.arc(200, 30, 20, 0, Math.PI * 2, true);
      ctx.closePath();
      ctx.fill();
      return hashString(canvas.toDataURL());
    } catch (e) {
      return null;
    }
  }

  /**
   * Which of PROBE_FONTS are installed, as a hash of the list.
   *
   * A font is present when text set in it (with a generic fallback) measures differently from
   * the fallback alone. `ctx` is any object with a `font` property and `measureText`.
   */
  function detectFonts(ctx, fonts) {
    var sample = "mmmmmmmmmmlli WwQq 0123";
    var bases = ["monospace", "sans-serif", "serif"];
    var baseWidth = {};
    bases.forEach(function (b) {
      ctx.font = "72px " + b;
      baseWidth[b] = ctx.measureText(sample).width;
    });
    return fonts.filter(function (font) {
      return bases.some(function (b) {
        ctx.font = "72px '" + font + "', " + b;
        return ctx.measureText(sample).width !== baseWidth[b];
      });
    });
  }

  function fontsHash(doc) {
    try {
      var ctx = doc.createElement("canvas").getContext("2d");
      if (!ctx) return null;
      return hashString(detectFonts(ctx, PROBE_FONTS).join(","));
    } catch (e) {
      return null;
    }
  }

  /**
   * Hash of an offline audio rendering (oscillator through a compressor): the floating-point
   * result differs between audio stacks. Resolves to null where the API is missing.
   */
  function audioHash(win) {
    var Ctx = win && (win.OfflineAudioContext || win.webkitOfflineAudioContext);
    if (!Ctx) return Promise.resolve(null);
    try {
      var ctx = new Ctx(1, 5000, 44100);
      var osc = ctx.createOscillator();
      osc.type = "triangle";
      osc.frequency.value = 10000;
      var comp = ctx.createDynamicsCompressor();
      comp.threshold.value = -50;
      comp.knee.value = 40;
      comp.ratio.value = 12;
      comp.attack.value = 0;
      comp.release.value = 0.25;
      osc.connect(comp);
      comp.connect(ctx.destination);
      osc.start(0);
      return ctx.startRendering().then(function (buffer) {
        var data = buffer.getChannelData(0);
        var sum = 0;
        for (var i = 4500; i < data.length; i++) sum += Math.abs(data[i]);
        return clipText(sum.toFixed(6), LIMITS.id);
      }, function () { return null; });
    } catch (e) {
      return Promise.resolve(null);
    }
  }

  /** Battery level and charging, where the Battery Status API exists (Chromium only). */
  function readBattery(nav) {
    if (!nav || typeof nav.getBattery !== "function") return Promise.resolve(null);
    return nav.getBattery().then(function (b) {
      var level = floatIn(b.level, 0, 1);
      return level === null ? null : { level: level, charging: !!b.charging };
    }, function () { return null; });
  }

  /** GPS position: only when the page opted in, and the browser asks the respondent again. */
  function readGeolocation(nav, timeoutMs) {
    if (!nav || !nav.geolocation) return Promise.resolve(null);
    return new Promise(function (resolve) {
      nav.geolocation.getCurrentPosition(function (pos) {
        var c = pos.coords;
        resolve(compact({
          lat: floatIn(c.latitude, -90, 90),
          lon: floatIn(c.longitude, -180, 180),
          accuracy_m: floatIn(c.accuracy, 0, 1e7),
        }));
      }, function () { resolve(null); }, { timeout: timeoutMs, maximumAge: 600000 });
    });
  }

  /** Settle `promise` within `ms`, else resolve null: a slow probe must not hold up a submission. */
  function withTimeout(promise, ms) {
    return new Promise(function (resolve) {
      var done = false;
      var timer = setTimeout(function () { done = true; resolve(null); }, ms);
      promise.then(function (v) {
        if (!done) { clearTimeout(timer); resolve(v); }
      }, function () {
        if (!done) { clearTimeout(timer); resolve(null); }
      });
    });
  }

  /**
   * Normalise a consent decision: only an explicit `true` is consent (missing = false, as in the
   * contract).
   */
  function normaliseConsent(consent) {
    consent = consent || {};
    return { usage: consent.usage === true, analytics: consent.analytics === true };
  }

  /**
   * Assemble the submission: the page's own fields plus what consent allows.
   *
   * Pure: every gated part is dropped unless its consent is true, whatever was passed in, so a
   * caller bug cannot leak device data or telemetry without consent.
   *
   * @param {object} base  the page's fields (survey_id, answers, ...)
   * @param {object} parts {consent, startedAt, submittedAt, device, referrer, telemetry}
   */
  function buildSubmission(base, parts) {
    var consent = normaliseConsent(parts.consent);
    var out = {};
    Object.keys(base || {}).forEach(function (k) {
      if (k !== "consent" && k !== "device" && k !== "telemetry" && k !== "network") out[k] = base[k];
    });
    out.started_at = Math.round(parts.startedAt);
    out.submitted_at = Math.round(parts.submittedAt);
    out.consent = consent;
    if (consent.usage) {
      var referrer = clipText(parts.referrer, LIMITS.referrer);
      if (referrer) out.network = { referrer: referrer };
      if (parts.device && Object.keys(parts.device).length) out.device = parts.device;
    }
    if (consent.analytics && parts.telemetry) out.telemetry = parts.telemetry;
    return out;
  }

  // ------------------------------------------------------------------ the collector

  /**
   * Create a collector. It does nothing until `setConsent` is called.
   *
   * @param {object} [options]
   * @param {number} [options.items=0]  number of survey items, for telemetry.item_ms
   * @param {string} [options.cookieName="fs_cid"]  first-party cookie holding the cookie id
   * @param {number} [options.cookieDays=365]
   * @param {boolean} [options.geolocation=false]  ask for GPS (a second browser prompt)
   * @param {number} [options.probeTimeoutMs=1500]  cap on each asynchronous probe
   * @param {number} [options.maxEvents=LIMITS.events]  cap per telemetry stream
   * @param {Window} [options.window]  defaults to the global window
   */
  function create(options) {
    options = options || {};
    var win = options.window || (typeof window !== "undefined" ? window : null);
    if (!win) throw new Error("FraudscoreCollector.create needs a browser window");
    var doc = win.document;
    var perf = win.performance;
    var now = function () { return perf.now(); };
    var cap = Math.max(1, Math.min(options.maxEvents || LIMITS.events, LIMITS.events));
    var nItems = options.items | 0;
    var cookieName = options.cookieName || "fs_cid";
    var probeTimeout = options.probeTimeoutMs || 1500;
    // Page load time on the epoch clock; telemetry times are ms since then (performance.now()).
    var timeOrigin = perf.timeOrigin || Date.now() - now();

    var consent = null; // unknown until setConsent
    var shownAt = null;
    var devicePromise = null;
    var listeners = [];
    var marks = [];
    var streams = {
      pointer: new Stream(["t", "x", "y", "kind"], cap),
      scroll: new Stream(["t", "dy"], cap),
      keys: new Stream(["t", "kind"], cap),
      focus: new Stream(["t", "kind"], cap),
    };
    var lastScrollY = null;

    // Event time: the event's own stamp (same origin as performance.now(), taken when the input
    // happened rather than when the handler ran), else the current time.
    function eventTime(e) {
      var t = e && typeof e.timeStamp === "number" && e.timeStamp > 0 ? e.timeStamp : now();
      return round1(t);
    }

    function listen(target, type, handler) {
      var opts = { capture: true, passive: true };
      target.addEventListener(type, handler, opts);
      listeners.push([target, type, handler, opts]);
    }

    function onPointer(e) {
      var kind = pointerKind(e.type);
      if (kind === null || !isFinite(e.clientX) || !isFinite(e.clientY)) return;
      streams.pointer.push([eventTime(e), round1(e.clientX), round1(e.clientY), kind]);
    }

    function onScroll(e) {
      var y = win.scrollY || win.pageYOffset || 0;
      if (lastScrollY === null) lastScrollY = 0;
      var dy = round1(y - lastScrollY);
      lastScrollY = y;
      if (dy !== 0) streams.scroll.push([eventTime(e), dy]);
    }

    function onKey(e) {
      // Only the kind is kept; e.key is compared with Backspace/Delete and then forgotten.
      var kind = keyKind(e.type, e.key, e.repeat);
      if (kind !== null) streams.keys.push([eventTime(e), kind]);
    }

    function onPaste(e) {
      // The clipboard content is never read.
      streams.keys.push([eventTime(e), "paste"]);
    }

    function onFocus(e) {
      if (e.target !== win) return; // element focus changes are not tab-aways
      streams.focus.push([eventTime(e), e.type === "blur" ? "blur" : "focus"]);
    }

    function startAnalytics() {
      lastScrollY = win.scrollY || win.pageYOffset || 0;
      ["pointermove", "pointerdown", "pointerup", "click"].forEach(function (type) { listen(doc, type, onPointer); });
      listen(win, "scroll", onScroll);
      listen(doc, "keydown", onKey);
      listen(doc, "keyup", onKey);
      listen(doc, "paste", onPaste);
      // Window focus events do not bubble: listen on the window itself, not in capture.
      ["blur", "focus"].forEach(function (type) {
        win.addEventListener(type, onFocus, false);
        listeners.push([win, type, onFocus, false]);
      });
    }

    function cookieId() {
      if (!win.navigator.cookieEnabled) return null;
      var id = readCookie(doc.cookie, cookieName);
      if (!id) {
        id = randomId(win.crypto);
        var secure = win.location && win.location.protocol === "https:" ? "; Secure" : "";
        doc.cookie = cookieName + "=" + id + "; Max-Age=" + Math.round((options.cookieDays || 365) * 86400) +
          "; Path=/; SameSite=Lax" + secure;
        // A browser that refuses the cookie has no cookie id; do not report one it cannot keep.
        if (readCookie(doc.cookie, cookieName) !== id) return null;
      }
      return clipText(id, LIMITS.id);
    }

    function collectDevice() {
      var device = readDevice({
        navigator: win.navigator, screen: win.screen, devicePixelRatio: win.devicePixelRatio,
        date: new Date(), intl: win.Intl,
      });
      Object.assign(device, readWebGL(doc));
      var sync = compact({ canvas_hash: canvasHash(doc), fonts_hash: fontsHash(doc), cookie_id: cookieId() });
      Object.assign(device, sync);
      var probes = [
        withTimeout(audioHash(win), probeTimeout),
        withTimeout(readBattery(win.navigator), probeTimeout),
        options.geolocation ? withTimeout(readGeolocation(win.navigator, probeTimeout), probeTimeout + 500)
          : Promise.resolve(null),
      ];
      return Promise.all(probes).then(function (r) {
        return compact(Object.assign(device, { audio_hash: r[0], battery: r[1], gps: r[2] }));
      });
    }

    var api = {
      /** The consent decision, once known ({usage, analytics}), else null. */
      get consent() { return consent === null ? null : Object.assign({}, consent); },

      /**
       * Record the respondent's decision and start what it allows. Callable once: consent is
       * decided before the survey starts, and a second call is ignored.
       */
      setConsent: function (decision) {
        if (consent !== null) return api;
        consent = normaliseConsent(decision);
        shownAt = now();
        if (consent.analytics) startAnalytics();
        if (consent.usage) devicePromise = collectDevice();
        return api;
      },

      /** Mark item `index` as answered now (call on each answer change or text input). */
      item: function (index, t) {
        if (consent === null || !consent.analytics) return api;
        if (marks.length < 20 * LIMITS.items) marks.push([t === undefined ? now() : t, index | 0]);
        return api;
      },

      /** Telemetry collected so far (analytics consent), in the contract's layout. */
      telemetry: function () {
        if (consent === null || !consent.analytics) return null;
        return {
          pointer: streams.pointer.toJSON(),
          scroll: streams.scroll.toJSON(),
          keys: streams.keys.toJSON(),
          focus: streams.focus.toJSON(),
          item_ms: itemTimes(marks, nItems, shownAt),
        };
      },

      /** Events not kept because a stream was full, per stream. */
      dropped: function () {
        return { pointer: streams.pointer.dropped, scroll: streams.scroll.dropped,
          keys: streams.keys.dropped, focus: streams.focus.dropped };
      },

      /**
       * Stop listening and resolve to the submission: `base` (the page's fields) plus timestamps,
       * the consent flags, and the device attributes and telemetry that consent allows.
       * Without a consent decision the submission carries consent false and nothing gated.
       */
      finish: function (base) {
        var submittedAt = timeOrigin + now();
        api.stop();
        var telemetry = api.telemetry();
        var pending = devicePromise || Promise.resolve(null);
        return pending.then(function (device) {
          return buildSubmission(base, {
            consent: consent, startedAt: timeOrigin, submittedAt: submittedAt,
            device: device, referrer: consent && consent.usage ? doc.referrer : null, telemetry: telemetry,
          });
        });
      },

      /** Remove every listener (finish() calls it). */
      stop: function () {
        listeners.forEach(function (l) { l[0].removeEventListener(l[1], l[2], l[3]); });
        listeners = [];
        return api;
      },
    };
    return api;
  }

  return {
    VERSION: VERSION,
    LIMITS: LIMITS,
    KINDS: KINDS,
    PROBE_FONTS: PROBE_FONTS,
    create: create,
    // pure functions, exported for tests and for pages that assemble submissions themselves
    Stream: Stream,
    buildSubmission: buildSubmission,
    clipList: clipList,
    clipText: clipText,
    detectFonts: detectFonts,
    hashString: hashString,
    itemTimes: itemTimes,
    keyKind: keyKind,
    normaliseConsent: normaliseConsent,
    pointerKind: pointerKind,
    readCookie: readCookie,
    readDevice: readDevice,
    randomId: randomId,
    round1: round1,
    sortOrder: sortOrder,
    tzOffsetMinutes: tzOffsetMinutes,
    withTimeout: withTimeout,
  };
});
