// Talking to the crisiswatch API: JSON requests with the API key when one is set, polite
// waiting on 429, and the live stream (GET /stream) read with fetch.
//
// The stream is read with fetch rather than EventSource because EventSource cannot send
// an Authorization header, and an API that refuses anonymous reads needs one. The
// parser follows the Server-Sent Events format (id/event/data/retry lines, blank line
// ends an event, ':' starts a comment) and reconnects with Last-Event-ID, so the server
// sends exactly what was missed.

const KEY_STORE = "crisiswatch.apiKey"; // sessionStorage: gone when the tab closes
const NAME_STORE = "crisiswatch.actor"; // localStorage: a name is not a secret

export const prefs = {
  get key() { return sessionStorage.getItem(KEY_STORE) || ""; },
  set key(v) { v ? sessionStorage.setItem(KEY_STORE, v) : sessionStorage.removeItem(KEY_STORE); },
  get actor() { return localStorage.getItem(NAME_STORE) || ""; },
  set actor(v) { v ? localStorage.setItem(NAME_STORE, v) : localStorage.removeItem(NAME_STORE); },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function headers(extra = {}) {
  const h = { ...extra };
  if (prefs.key) h.Authorization = `Bearer ${prefs.key}`;
  return h;
}

async function errorOf(r) {
  try {
    const body = await r.json();
    return new ApiError(r.status, body.error?.message || `${r.status} ${r.statusText}`);
  } catch {
    return new ApiError(r.status, `${r.status} ${r.statusText}`);
  }
}

// One request; a 429 waits for Retry-After and tries again (three times at most).
export async function request(path, { method = "GET", body, accept = "application/json" } = {}) {
  for (let attempt = 0; ; attempt++) {
    const init = { method, headers: headers({ Accept: accept }) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const r = await fetch(path, init);
    if (r.status === 429 && attempt < 3) {
      await sleep(1000 * Math.min(30, Number(r.headers.get("Retry-After")) || 1));
      continue;
    }
    if (!r.ok) throw await errorOf(r);
    return accept === "application/json" ? r.json() : r.text();
  }
}

export const get = (path) => request(path);
export const post = (path, body) => request(path, { method: "POST", body });

// Reads GET /stream until stop() is called; onEvent({id, type, data}) per event,
// onState(connected, detail) whenever the connection opens or drops.
export function openStream({ onEvent, onState }) {
  let lastId = null;
  let retryMs = 2000;
  let controller = null;
  let stopped = false;
  let wake = null; // ends the wait before the next attempt (a key was just given)

  function dispatch(block) {
    let id = null, type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id !== null) lastId = id;
    if (!data.length) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      return; // not ours to read
    }
    onEvent({ id, type, data: parsed });
  }

  async function loop() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const h = headers({ Accept: "text/event-stream" });
        if (lastId) h["Last-Event-ID"] = lastId;
        const r = await fetch("/stream", { headers: h, signal: controller.signal, cache: "no-store" });
        if (!r.ok) throw await errorOf(r);
        onState(true, lastId === null ? "first" : "resumed");
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
        onState(false, "the server closed the stream");
      } catch (e) {
        if (stopped) return;
        onState(false, e instanceof ApiError ? e.message : "connection lost");
      }
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, retryMs);
      });
    }
  }

  loop();
  return {
    stop() { stopped = true; controller?.abort(); },
    retryNow() { wake?.(); },
  };
}
