// The Node.js code-step process: runs Pipedream components for its pool, one call at a time.
//
// Started by relayflow.codestep.node as
//   sh -c 'exec 3<&0 4>&1 0</dev/null 1>&2; exec "$@"' prlimit … node runner.mjs PARENT MEMORY_MB PROCESSES MODULES
// so that, as in child.py, the protocol (4-byte length + JSON message, both ways) is on private
// descriptors (3 in, 4 out) and everything a step prints (console.*, process.stdout, the output
// of programs it starts) goes to the log pipe, which the parent reads as the step's logs. At
// the end of a call a marker line tells the parent the logs are complete.
//
// A step is an ES module with Pipedream's shape, unchanged:
//   export default defineComponent({ async run({ steps, $ }) { $.export("x", 1); return 2; } })
// `this` in run holds the step's inputs (accounts as this.NAME.$auth, data stores as objects with
// async get/set/…), `$` has export, flow.exit, flow.delay, flow.rerun, respond.
//
// In a sandbox (PARENT 0, PROCESSES > 0) this process is alone in its PID namespace beside
// bubblewrap's init: after each step it kills whatever the step left running.

import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

// MEMORY_MB is for symmetry with child.py: the launcher sets the heap limit (--max-old-space-size).
const [parentArg = "0", , processesArg = "0", modulesArg = ""] = process.argv.slice(2);
const PARENT = Number(parentArg);
const SANDBOXED = Number(processesArg) > 0 && process.ppid === 1 && process.pid !== 1;
const IN_FD = 3;
const OUT_FD = 4;
const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;
const STEPS_ROOT = path.join(os.tmpdir(), "relayflow-steps");

// Channel ---------------------------------------------------------------------------------

let buffered = Buffer.alloc(0);
const waiting = []; // resolvers of ask(), answered in order
const calls = []; // calls received while one runs (the pool sends one at a time)

function send(message) {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  writeAll(OUT_FD, Buffer.concat([head, body]));
}

function writeAll(fd, data) {
  let at = 0;
  while (at < data.length) {
    try {
      at += fs.writeSync(fd, data, at);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

function ask(message) {
  return new Promise((resolve) => {
    waiting.push(resolve);
    send(message);
  });
}

function received(chunk) {
  buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
  while (buffered.length >= 4) {
    const size = buffered.readUInt32BE(0);
    if (buffered.length < 4 + size) return;
    const message = JSON.parse(buffered.subarray(4, 4 + size).toString("utf8"));
    buffered = buffered.subarray(4 + size);
    // A data-store operation a step left running past its end is answered during the
    // next call: a call is never taken for an answer.
    if (message.t === "call") queueCall(message);
    else if (waiting.length) waiting.shift()(message);
  }
}

let running = false;
function queueCall(message) {
  calls.push(message);
  if (!running) void serveCalls();
}

async function serveCalls() {
  running = true;
  while (calls.length) await call(calls.shift());
  running = false;
}

// What the step sees ----------------------------------------------------------------------

class DataStoreError extends Error {
  constructor(message) {
    super(message);
    this.name = "DataStoreError";
  }
}

// A data store as Pipedream's `this.data`: each method is one round trip to the platform.
class DataStore {
  #name;
  constructor(name) {
    this.#name = name;
  }
  async #op(op, args = {}) {
    const answer = await ask({ t: "store", store: this.#name, op, args });
    if (!answer.ok) throw new DataStoreError(answer.error || "the data store refused the operation");
    return answer.value;
  }
  async get(key, fallback = undefined) {
    const [found, value] = await this.#op("lookup", { key: storeKey(key) });
    return found ? value : fallback;
  }
  async has(key) {
    return Boolean((await this.#op("lookup", { key: storeKey(key) }))[0]);
  }
  async set(key, value, options = {}) {
    checkJson(value, "the value");
    await this.#op("set", { key: storeKey(key), value, ttl: ttlOf(options) });
  }
  async delete(key) {
    return Boolean(await this.#op("delete", { key: storeKey(key) }));
  }
  async keys(prefix = "") {
    return this.#op("keys", { prefix });
  }
  async entries(prefix = "") {
    return (await this.#op("items", { prefix })).map(([key, value]) => ({ key, value }));
  }
  async clear() {
    return Number(await this.#op("clear"));
  }
  async setTtl(key, ttl = null) {
    return Boolean(await this.#op("set_ttl", { key: storeKey(key), ttl }));
  }
  async incr(key, amount = 1, fallback = 0) {
    return this.#op("incr", { key: storeKey(key), amount, default: fallback });
  }
  async setIfAbsent(key, value, options = {}) {
    checkJson(value, "the value");
    return Boolean(
      await this.#op("set_if_absent", { key: storeKey(key), value, ttl: ttlOf(options) }),
    );
  }
  async compareAndSet(key, expected, value, options = {}) {
    checkJson(value, "the value");
    checkJson(expected, "the expected value");
    const args = { key: storeKey(key), expected, value, ttl: ttlOf(options) };
    return Boolean(await this.#op("compare_and_set", args));
  }
  toString() {
    return `[data store ${this.#name}]`;
  }
}

function storeKey(key) {
  if (typeof key !== "string") throw new TypeError(`data store keys are strings, not ${typeof key} (${String(key)})`);
  return key;
}

function ttlOf(options) {
  const ttl = options && typeof options === "object" ? options.ttl : undefined;
  return ttl === undefined ? null : ttl;
}

function isStore(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    Object.keys(value).length === 1 &&
    typeof value.$data_store === "string"
  );
}

// The first part of `value` that JSON cannot hold, described for the user (null: none).
function unserialisable(value, where, seen = new Set()) {
  if (value === null || ["string", "boolean", "undefined"].includes(typeof value)) return null;
  if (typeof value === "number") {
    return Number.isFinite(value) ? null : `${where} is ${value} (NaN and Infinity are not JSON)`;
  }
  if (typeof value === "bigint") return `${where} is a BigInt (${value}n); give it as a string`;
  if (typeof value !== "object") return `${where} is a ${typeof value}`;
  if (typeof value.toJSON === "function") return null; // Date and friends choose their JSON
  if (seen.has(value)) return `${where} refers to itself (a circular structure)`;
  if (value instanceof Map || value instanceof Set) {
    const fix = value instanceof Map ? "Object.fromEntries(map)" : "[...set]";
    return `${where} is a ${value.constructor.name}; give ${fix}`;
  }
  seen.add(value);
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value);
  for (const [key, item] of entries) {
    const label = Array.isArray(value) ? `${where}[${key}]` : `${where}.${key}`;
    const found = unserialisable(item, label, seen);
    if (found) return found;
  }
  seen.delete(value);
  return null;
}

function checkJson(value, what) {
  const problem = unserialisable(value, what);
  if (problem) {
    throw new TypeError(
      `${problem}, which is not JSON-serialisable; use strings, numbers, booleans, null,` +
        " arrays and plain objects",
    );
  }
}

function milliseconds(ms, what) {
  if (typeof ms !== "number" || !(ms >= 0 && ms <= MAX_DELAY_MS)) {
    throw new RangeError(`${what}: give milliseconds between 0 and ${MAX_DELAY_MS} (a year), not ${String(ms)}`);
  }
  return ms;
}

// `$` of run({ steps, $ }); what it records is sent back after the step returns.
function dollar(state, context) {
  const urls = { resume_url: context.resume_url ?? null, cancel_url: context.cancel_url ?? null };
  return {
    context,
    export(name, value) {
      if (typeof name !== "string" || !name) {
        throw new TypeError(`$.export: the name must be a non-empty string, not ${JSON.stringify(name)}`);
      }
      if (name === "$return_value") throw new Error("$.export: $return_value is set by returning a value");
      checkJson(value, `$.export("${name}") value`);
      state.exports[name] = value;
    },
    flow: {
      exit(reason = "") {
        state.exit_reason = reason ? String(reason) : "exited";
      },
      delay(ms) {
        state.delay_ms = milliseconds(ms, "$.flow.delay");
        return { ...urls };
      },
      rerun(delayMs, context = undefined, maxRetries = 10) {
        if (!Number.isInteger(maxRetries) || maxRetries < 0) {
          throw new RangeError(`$.flow.rerun: maxRetries must be a whole number >= 0, not ${String(maxRetries)}`);
        }
        state.rerun = { delay_ms: milliseconds(delayMs, "$.flow.rerun"), max_retries: maxRetries };
        if (context !== undefined && context !== null) {
          checkJson(context, "$.flow.rerun context");
          state.rerun.context = context;
        }
        return { ...urls };
      },
    },
    async respond(response) {
      if (state.response !== null) throw new Error("$.respond was already called in this step");
      if (state.delay_ms !== null) throw new Error("$.respond cannot be used after $.flow.delay");
      if (response === null || typeof response !== "object" || Array.isArray(response)) {
        throw new TypeError("$.respond takes an object with status, headers and body");
      }
      const unknown = Object.keys(response).filter((k) => !["status", "headers", "body", "immediate"].includes(k));
      if (unknown.length) throw new TypeError(`$.respond: unknown keys ${unknown.join(", ")}; use status, headers, body`);
      const status = response.status ?? 200;
      if (!Number.isInteger(status) || status < 100 || status > 599) {
        throw new RangeError(`$.respond: status must be an HTTP status code, not ${String(status)}`);
      }
      const headers = response.headers ?? {};
      if (typeof headers !== "object" || Object.values(headers).some((v) => typeof v !== "string")) {
        throw new TypeError("$.respond: headers must be an object of strings");
      }
      const body = response.body === undefined ? null : response.body;
      checkJson(body, "$.respond body");
      state.response = { status, headers, body };
    },
  };
}

// Loading a step --------------------------------------------------------------------------

globalThis.defineComponent = (component) => component;
let modulesLinked = false;

const loadedSteps = new Map(); // filename + source -> { module, file }, newest last

// Where the step's module lives: its source written under the private /tmp, where imports
// of the workflow's `packages:` resolve (a node_modules link beside it), named so that its
// stack frames can be told apart and shown under the step's own name.
function place(source, filename) {
  if (!modulesLinked) {
    fs.mkdirSync(STEPS_ROOT, { recursive: true });
    if (modulesArg) fs.symlinkSync(path.join(modulesArg, "node_modules"), path.join(STEPS_ROOT, "node_modules"));
    globalThis.require = createRequire(path.join(STEPS_ROOT, "step.cjs"));
    modulesLinked = true;
  }
  const hash = crypto.createHash("sha256").update(filename).update("\0").update(source).digest("hex");
  const folder = path.join(STEPS_ROOT, hash.slice(0, 20));
  const file = path.join(folder, `${path.basename(filename).replace(/\.(mjs|js|cjs)$/, "")}.mjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(file, source);
  }
  return file;
}

async function load(source, filename) {
  const cacheKey = `${filename}\0${source}`;
  const cached = loadedSteps.get(cacheKey);
  if (cached) return cached;
  const loaded = { file: place(source, filename) };
  try {
    loaded.module = await import(pathToFileURL(loaded.file).href);
  } catch (error) {
    throw Object.assign(new LoadError(), { error, file: loaded.file });
  }
  if (loadedSteps.size >= 256) loadedSteps.delete(loadedSteps.keys().next().value);
  loadedSteps.set(cacheKey, loaded);
  return loaded;
}

class LoadError extends Error {} // carries the module's own error and file out of load()

function component(module, filename) {
  const found = module.default;
  if (typeof found === "function" || (found && typeof found.run === "function")) return found;
  throw new CodeStepError(
    `${filename} has no default export with a run method; write` +
      " `export default defineComponent({ async run({ steps, $ }) { … } })`",
  );
}

class CodeStepError extends Error {
  constructor(message) {
    super(message);
    this.name = "CodeStepError";
  }
}

// The error as the user should see it: name, message, and only their own stack frames.
function describe(error, file, filename) {
  if (error instanceof CodeStepError) return { name: error.name, message: error.message, traceback: "" };
  const isError = error instanceof Error;
  const name = isError ? error.name || "Error" : "Error";
  let message = isError ? String(error.message) : `a non-Error was thrown: ${safeString(error)}`;
  const url = file ? pathToFileURL(file).href : null;
  const mine = (text) => (url && text.includes(url)) || (file && text.includes(file));
  const shown = (text) => (url ? text.split(url).join(filename).split(file).join(filename) : text);
  let stack = isError && typeof error.stack === "string" ? error.stack : "";
  if (isError && error.code === "ERR_MODULE_NOT_FOUND") {
    message += "; list npm packages a step imports under the workflow's `packages:`";
  }
  if (name === "SyntaxError" && file && !stack.includes(file)) {
    // A module that does not parse has no frame of its own: node --check (which only
    // parses) says where, with the line and a caret under the place.
    const checked = spawnSync(process.execPath, ["--check", file], { encoding: "utf8" });
    const said = (checked.stderr || "").split("\n");
    const at = said.length ? said[0].match(/:(\d+)$/) : null;
    if (at) {
      message = `${message} (${filename}, line ${at[1]})`;
      return { name, message, traceback: [`${filename}:${at[1]}`, ...said.slice(1, 3)].join("\n") };
    }
  }
  const lines = stack.split("\n");
  const frames = lines.filter((line) => /^\s+at /.test(line) && mine(line)).map(shown);
  return { name, message: shown(message), traceback: [`${name}: ${shown(message)}`, ...frames].join("\n") };
}

function safeString(value) {
  try {
    return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// Running one call ------------------------------------------------------------------------

let failCurrent = null; // fails the running step from an uncaught error of its own

process.on("uncaughtException", (error) => report(error));
process.on("unhandledRejection", (error) => report(error));

function report(error) {
  if (failCurrent) failCurrent(error);
  else process.stderr.write(`[relayflow] an error outside any step: ${error?.stack ?? error}\n`);
}

async function call(message) {
  const filename = message.filename || "<code>";
  const context = message.context || {};
  const env = message.env || {};
  const savedEnv = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  const state = { exports: {}, exit_reason: null, delay_ms: null, rerun: null, response: null };
  let value = null;
  let error = null;
  let file = null;
  try {
    const loaded = await load(message.source || "", filename);
    file = loaded.file;
    const found = component(loaded.module, filename);
    const props = {};
    for (const [name, input] of Object.entries(message.inputs || {})) {
      props[name] = isStore(input) ? new DataStore(input.$data_store) : input;
    }
    const self = typeof found === "function" ? props : { ...(found.methods || {}), ...props };
    const run = typeof found === "function" ? found : found.run;
    const failed = new Promise((_, reject) => {
      failCurrent = reject;
    });
    const result = await Promise.race([
      Promise.resolve(run.call(self, { steps: message.steps || {}, $: dollar(state, context) })),
      failed,
    ]);
    value = result === undefined ? null : result;
    const problem = unserialisable(value, "the return value");
    if (problem) {
      value = null;
      error = {
        name: "TypeError",
        message: `${problem}, which is not JSON-serialisable; return strings, numbers, booleans,` +
          " null, arrays and plain objects",
        traceback: "",
      };
    }
  } catch (thrown) {
    value = null;
    error = thrown instanceof LoadError
      ? describe(thrown.error, thrown.file, filename)
      : describe(thrown, file, filename);
  } finally {
    failCurrent = null;
    for (const [name, old] of Object.entries(savedEnv)) {
      if (old === undefined) delete process.env[name];
      else process.env[name] = old;
    }
  }
  finish(message, state, value, error);
}

function finish(message, state, value, error) {
  if (SANDBOXED) endStrays();
  let retire = false;
  try {
    fs.writeSync(2, `\x00relayflow:end:${message.id}\x00\n`);
  } catch {
    retire = true; // the step closed its output: the pool replaces this process
  }
  const reply = { t: "done", return_value: value, ...state, error, retire };
  try {
    send(reply);
  } catch (problem) {
    send({ t: "done", exports: {}, retire, error: { name: "TypeError", message: String(problem), traceback: "" } });
  }
}

// Kill every process the step started and let init (or libuv) reap them. Bounded: a process
// that forks as it is killed is caught by the next round.
function endStrays() {
  for (let round = 0; round < 1000; round++) {
    try {
      process.kill(-1, "SIGKILL");
    } catch {
      return; // nothing left to signal
    }
    if (!others()) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
}

function others() {
  const mine = String(process.pid);
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || name === "1" || name === mine) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "latin1");
      if (stat.slice(stat.lastIndexOf(") ") + 2)[0] !== "Z") return true;
    } catch {
      // gone already
    }
  }
  return false;
}

// Start-up --------------------------------------------------------------------------------

if (PARENT) {
  // Unsandboxed: end with the pool (the sandbox's --die-with-parent does it otherwise).
  setInterval(() => {
    if (process.ppid !== PARENT) process.exit(0);
  }, 1000).unref();
}

const input = new net.Socket({ fd: IN_FD, readable: true, writable: false });
input.on("data", received);
input.on("end", () => process.exit(0)); // the pool went away
input.on("error", () => process.exit(0));
send({ t: "ready", pid: process.pid });
