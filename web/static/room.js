// The interview room: start screen, voice loop over the stream protocol (viva.v1), captions,
// and lifecycle events to the embedding page.
import { Capture, CAPTURE_RATE, Playback, openMicrophone } from "./audio.js";

const config = JSON.parse(document.getElementById("room-config").textContent);
const params = new URLSearchParams(location.search);
const eventsEnabled = params.get("interviewEvents") === "true";
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000];
const PING_EVERY_MS = 15000;
const VERDICTS = {
  completed: "Interview completed.",
  partial: "The interview ended before every question was answered.",
  low_confidence: "There was not enough clear speech to score this interview reliably.",
};

const $ = (selector) => document.querySelector(selector);
const field = (name) => document.querySelector(`[data-field="${name}"]`);

const state = {
  token: null,
  info: null,
  capture: null,
  playback: null,
  socket: null,
  streaming: false, // the stream said ready: microphone frames may flow
  pinger: 0,
  typingOnly: false,
  reconnects: 0,
  lastError: null,
  finished: false,
  ended: false, // a terminal screen is up: no reconnecting
  consent: null, // the server's disclosure and whether it was accepted
  pendingTyped: null, // caption of a typed answer not yet confirmed by a transcript
  elapsedBase: 0,
  elapsedAt: 0,
};

// --- the token: from the fragment (preferred), or ?token= / ?userApiToken= ---------------

function readToken() {
  const storageKey = `viva-token:${config.sessionId}`;
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token") || params.get("token") || params.get("userApiToken");
  if (token) {
    // Out of the address bar and history; kept for this tab only, so a reload still works.
    const kept = new URLSearchParams(params);
    kept.delete("token");
    kept.delete("userApiToken");
    const query = kept.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : ""));
    try {
      sessionStorage.setItem(storageKey, token);
    } catch {
      // storage may be blocked in third-party frames; the token in memory is enough
    }
    return token;
  }
  try {
    return sessionStorage.getItem(storageKey);
  } catch {
    return null;
  }
}

// --- lifecycle events to the embedding page ---------------------------------------------

// The page framing us, if it is one of the tenant's allowed origins (or this server's own).
function parentOrigin() {
  const allowed = new Set([...config.parentOrigins, location.origin]);
  const seen = [];
  if (location.ancestorOrigins && location.ancestorOrigins.length) seen.push(location.ancestorOrigins[0]);
  if (document.referrer) {
    try {
      seen.push(new URL(document.referrer).origin);
    } catch {
      // not a URL: ignore
    }
  }
  const match = seen.find((origin) => allowed.has(origin));
  if (match) return match;
  return config.parentOrigins.length === 1 ? config.parentOrigins[0] : null;
}

function notifyParent(action, extra = {}) {
  if (!eventsEnabled || window.parent === window) return;
  const origin = parentOrigin();
  if (!origin) return; // never "*": an unknown page must not learn about the interview
  window.parent.postMessage({ source: "viva-interview", action, sessionId: config.sessionId, ...extra }, origin);
}

// --- screens -------------------------------------------------------------------------------

function show(screen) {
  for (const section of document.querySelectorAll("section[data-screen]")) {
    section.hidden = section.dataset.screen !== screen;
  }
  const room = $("#room");
  room.dataset.current = screen;
  room.setAttribute("aria-busy", screen === "loading" ? "true" : "false");
  const heading = document.querySelector(`[data-screen="${screen}"] h1`);
  if (heading && screen !== "interview") {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function endWith(screen, action, extra) {
  state.ended = true;
  stopAudio();
  show(screen);
  if (action) notifyParent(action, extra);
}

function fail(code, message) {
  field("error-message").textContent = message;
  endWith("error", "interviewError", { code });
}

function banner(text) {
  const element = field("banner");
  element.textContent = text || "";
  element.hidden = !text;
}

// --- start screen --------------------------------------------------------------------------

async function loadSession() {
  const response = await fetch(config.apiPath, authorized()).catch(() => null);
  if (!response) return fail("network_error", "The interview server could not be reached.");
  if (response.status === 401) return endWith("expired", "interviewError", { code: "invalid_token" });
  if (response.status === 404) return fail("session_not_found", "This interview does not exist.");
  if (!response.ok) return fail("server_error", `The server answered ${response.status}.`);
  const info = await response.json();
  state.info = info;
  if (info.finished) return endWith("already-completed", "interviewAlreadyCompleted", { status: info.status });

  const { persona } = info;
  field("persona-name").textContent = persona.name;
  field("persona-title").textContent = persona.title;
  field("persona-description").textContent = persona.description;
  const questions = info.question_count === 1 ? "1 question" : `${info.question_count} questions`;
  field("plan-summary").textContent =
    `${info.practice ? "Practice interview" : "Interview"}: ${questions}. ` +
    (info.mode === "chat" ? "You answer by typing." : "You answer by speaking; typing works too.");
  field("interviewer-label").textContent = `${persona.name}, ${persona.title} (AI)`;
  setVoiceOnly(info.mode !== "chat");
  if (!(await loadDisclosure())) return fail("server_error", "The interview could not be loaded.");
  show("start");
  notifyParent("interviewLoaded");
}

function setVoiceOnly(visible) {
  for (const element of document.querySelectorAll("[data-voice-only]")) element.hidden = !visible;
}

function usesMicrophone() {
  return state.info.mode !== "chat" && !state.typingOnly;
}

// Opens the microphone once; shows the matching screen and returns false when it can't.
async function ensureMicrophone() {
  if (state.capture) return true;
  let stream;
  try {
    stream = await openMicrophone();
  } catch (error) {
    const denied = error.name === "NotAllowedError" || error.name === "SecurityError";
    show(denied ? "mic-denied" : "no-mic");
    notifyParent("interviewError", { code: denied ? "microphone_denied" : "no_microphone" });
    return false;
  }
  state.capture = await Capture.start(stream);
  state.capture.onframe = (pcm, level) => {
    $("#mic-level").value = Math.min(1, level * 4);
    const socket = state.socket;
    if (socket && socket.readyState === WebSocket.OPEN && state.streaming) socket.send(pcm);
  };
  return true;
}

function authorized(init = {}) {
  return { ...init, cache: "no-store", headers: { ...init.headers, Authorization: `Bearer ${state.token}` } };
}

// The disclosure the candidate consents to comes from the server, with its version.
async function loadDisclosure() {
  const response = await fetch(config.consentPath, authorized()).catch(() => null);
  if (!response || !response.ok) return false;
  state.consent = await response.json();
  field("disclosure-text").textContent = state.consent.disclosure.text;
  return true;
}

async function recordConsent() {
  if (state.consent.consented) return true;
  const response = await fetch(
    config.consentPath,
    authorized({
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ accepted: true, version: state.consent.disclosure.version }),
    }),
  ).catch(() => null);
  if (!response) fail("network_error", "The interview server could not be reached.");
  else if (response.status === 401) endWith("expired", "interviewError", { code: "invalid_token" });
  else if (response.status === 409) endWith("already-completed", "interviewAlreadyCompleted");
  else if (!response.ok) fail("consent_failed", `Consent could not be recorded (${response.status}).`);
  else return true;
  return false;
}

async function start() {
  const button = $("#start");
  button.disabled = true;
  field("start-status").textContent = "Starting…";
  if (usesMicrophone() && !(await ensureMicrophone())) {
    button.disabled = false;
    return;
  }
  if (!(await recordConsent())) return;
  field("start-status").textContent = "Connecting…";
  connect();
}

// --- the stream ----------------------------------------------------------------------------

function streamUrl() {
  const url = new URL(config.streamPath, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function send(message) {
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function connect() {
  // The token travels as a subprotocol, never in a URL that could be logged.
  const socket = new WebSocket(streamUrl(), ["viva.v1", `token.${state.token}`]);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  state.streaming = false;
  socket.onopen = () => {
    send({
      type: "hello",
      audio: { encoding: "pcm_s16le", sample_rate: CAPTURE_RATE },
      mode: state.info.mode === "chat" ? "chat" : "voice",
    });
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") handleMessage(JSON.parse(event.data));
    else if (state.playback) state.playback.enqueue(event.data);
  };
  socket.onclose = (event) => handleClose(event.code);
  clearInterval(state.pinger);
  state.pinger = setInterval(() => send({ type: "ping" }), PING_EVERY_MS);
}

function handleClose(code) {
  clearInterval(state.pinger);
  state.socket = null;
  state.streaming = false;
  if (state.finished || state.ended) return;
  if (code === 4409) return endWith("already-completed", "interviewAlreadyCompleted");
  if (code === 4401) return endWith("expired", "interviewError", { code: "invalid_token" });
  if (code === 4404) return fail("session_not_found", "This interview does not exist.");
  if (code === 4000) return fail("superseded", "This interview was opened in another window.");
  if (code === 4400 || code === 4429 || code === 1000) {
    const error = state.lastError;
    return fail(error ? error.code : `closed_${code}`, error ? error.message : "The interview stopped.");
  }
  // Anything else is a dropped connection: try again with back-off, and resume.
  if (state.reconnects >= RECONNECT_DELAYS_MS.length) {
    return fail("connection_lost", "The connection to the interview was lost. Please reload to continue.");
  }
  const delay = RECONNECT_DELAYS_MS[state.reconnects++];
  if (state.playback) state.playback.flush();
  field("reconnect-status").textContent =
    `The connection dropped. Trying again in ${Math.round(delay / 100) / 10} s (attempt ${state.reconnects}).`;
  show("reconnecting");
  setTimeout(connect, delay);
}

async function handleReady(message) {
  state.reconnects = 0;
  const rate = message.audio_out.sample_rate;
  if (!state.playback || state.playback.sampleRate !== rate) {
    if (state.playback) state.playback.close();
    state.playback = await Playback.create(rate);
    state.playback.onplayed = (turn) => send({ type: "playback", event: "finished", turn });
    state.playback.onlevel = (level, playedSeconds, queued) => {
      field("agent-speaking").classList.toggle("on", level > 0.01 || queued > 0);
      $("#room").dataset.playedMs = String(Math.round(playedSeconds * 1000));
    };
  }
  banner(state.playback.blocked ? "Sound is off: press any key or click to turn it on." : "");
  if (message.resumed) banner("Reconnected: picking up where we left off.");
  if (message.progress) handleProgress(message.progress);
  state.streaming = true;
  show("interview");
  $("#answer-text").focus({ preventScroll: true });
}

function handleMessage(message) {
  switch (message.type) {
    case "ready":
      handleReady(message);
      break;
    case "vad":
      field("candidate-speaking").classList.toggle("on", Boolean(message.speaking));
      break;
    case "transcript":
      candidateCaption(message.turn, message.text, message.final);
      break;
    case "agent_text":
      interviewerCaption(message.turn, message.text);
      break;
    case "agent_audio":
      if (message.event === "end" && state.playback) state.playback.mark(message.turn);
      break;
    case "interrupt":
      if (state.playback) state.playback.flush();
      markInterrupted(message.turn);
      break;
    case "feedback":
      feedbackCard(message);
      break;
    case "progress":
      handleProgress(message);
      break;
    case "finished":
      handleFinished(message);
      break;
    case "error":
      state.lastError = message;
      if (!message.fatal) banner(message.message);
      break;
    default:
      break; // pong, metrics, and types added later
  }
}

async function handleFinished(message) {
  state.finished = true;
  const scored = typeof message.score === "number";
  field("score").textContent = scored
    ? `Score: ${message.score} / 100`
    : "Your results go to the organisation that invited you.";
  field("verdict").textContent = VERDICTS[message.status] || "The interview is over.";
  endWith("finished", "interviewFinished", { score: scored ? message.score : null, status: message.status });
  // The verdict is in the stored report; shown with the score, never without it.
  if (!scored) return;
  const response = await fetch(config.apiPath, authorized()).catch(() => null);
  const info = response && response.ok ? await response.json() : null;
  if (info && info.result && info.result.verdict) {
    field("verdict").textContent = `Verdict: ${info.result.verdict}`;
  }
}

function handleProgress(progress) {
  const asked = progress.question_count;
  const total = progress.max_questions;
  field("progress").textContent = asked > 0 ? `Question ${Math.min(asked, total)} of ${total}` : "";
  state.elapsedBase = progress.elapsed_s || 0;
  state.elapsedAt = performance.now();
  // The interviewer is closing: nothing typed now would be heard as an answer.
  const closing = Boolean(progress.is_complete);
  for (const control of $("#answer-form").querySelectorAll("textarea, button")) control.disabled = closing;
  $("#answer-form").dataset.closed = String(closing);
}

function tickClock() {
  if (!state.elapsedAt) return;
  const seconds = Math.floor(state.elapsedBase + (performance.now() - state.elapsedAt) / 1000);
  field("clock").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

// --- captions and feedback -----------------------------------------------------------------

function caption(role, turn) {
  const captions = $("#captions");
  let line = captions.querySelector(`.caption[data-role="${role}"][data-turn="${turn}"]`);
  if (!line) {
    line = document.createElement("p");
    line.className = `caption ${role}`;
    line.dataset.role = role;
    line.dataset.turn = String(turn);
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.textContent = role === "interviewer" ? `${state.info.persona.name}:` : "You:";
    const text = document.createElement("span");
    text.className = "text";
    line.append(speaker, text);
    captions.append(line);
  }
  return line;
}

function scrollCaptions() {
  const captions = $("#captions");
  captions.scrollTop = captions.scrollHeight;
}

function candidateCaption(turn, text, final) {
  const typed = state.pendingTyped;
  let line;
  if (typed && normalize(typed.querySelector(".text").textContent) === normalize(text)) {
    typed.dataset.turn = String(turn); // the server's record of the typed answer
    state.pendingTyped = null;
    line = typed;
  } else {
    line = caption("candidate", turn);
  }
  line.querySelector(".text").textContent = text;
  line.classList.toggle("partial", !final);
  line.dataset.final = String(Boolean(final));
  scrollCaptions();
}

function interviewerCaption(turn, text) {
  const line = caption("interviewer", turn);
  const span = line.querySelector(".text");
  span.textContent = span.textContent ? `${span.textContent} ${text}` : text;
  line.dataset.final = "true";
  scrollCaptions();
}

function markInterrupted(turn) {
  const line = $(`#captions .caption[data-role="interviewer"][data-turn="${turn}"]`);
  if (line) line.querySelector(".text").textContent += " —";
}

function normalize(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
}

function feedbackCard(message) {
  const card = document.createElement("article");
  card.className = "feedback-card";
  const heading = document.createElement("h3");
  heading.textContent = `Feedback on your answer: ${message.score} / 100`;
  card.append(heading);
  for (const [title, items] of [["Strengths", message.strengths], ["To improve", message.improvements]]) {
    if (!items || !items.length) continue;
    const label = document.createElement("p");
    label.textContent = title;
    const list = document.createElement("ul");
    for (const item of items) {
      const entry = document.createElement("li");
      entry.textContent = item;
      list.append(entry);
    }
    card.append(label, list);
  }
  $("#feedback").append(card);
}

// --- wiring --------------------------------------------------------------------------------

function stopAudio() {
  clearInterval(state.pinger);
  if (state.capture) state.capture.stop();
  state.capture = null;
  if (state.playback) state.playback.close();
  state.playback = null;
  if (state.socket && state.socket.readyState <= WebSocket.OPEN) state.socket.close(1000);
}

function wire() {
  $("#consent").addEventListener("change", (event) => {
    $("#start").disabled = !event.target.checked;
  });
  $("#start").addEventListener("click", start);
  $("#mic-check").addEventListener("click", async () => {
    if (await ensureMicrophone()) {
      $("#mic-check").textContent = "Microphone on";
      $("#mic-check").disabled = true;
    }
  });
  for (const button of document.querySelectorAll('[data-action="retry-mic"]')) {
    button.addEventListener("click", async () => {
      if (await ensureMicrophone()) show("start");
    });
  }
  for (const button of document.querySelectorAll('[data-action="type-instead"]')) {
    button.addEventListener("click", () => {
      state.typingOnly = true;
      setVoiceOnly(false);
      show("start");
    });
  }
  $("#answer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("#answer-text");
    const text = input.value.trim();
    if (!text || !state.socket) return;
    send({ type: "answer_text", text });
    const line = caption("candidate", `typed-${Date.now()}`);
    line.querySelector(".text").textContent = text;
    line.dataset.final = "true";
    state.pendingTyped = line;
    input.value = "";
    scrollCaptions();
  });
  $("#answer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("#answer-form").requestSubmit();
    }
  });
  $("#end").addEventListener("click", () => $("#end-dialog").showModal());
  $("#end-dialog").addEventListener("close", () => {
    if ($("#end-dialog").returnValue === "end") {
      send({ type: "end" });
      banner("Ending the interview…");
    }
  });
  // Autoplay may hold the interviewer's voice until the candidate interacts.
  const unblock = () => {
    if (state.playback && state.playback.blocked) state.playback.resume().then(() => banner(""));
  };
  document.addEventListener("pointerdown", unblock);
  document.addEventListener("keydown", unblock);
  setInterval(tickClock, 1000);
}

wire();
state.token = readToken();
if (!state.token) {
  endWith("expired", "interviewError", { code: "missing_token" });
} else {
  loadSession();
}
