// The interview room: start screen, voice loop over the stream protocol (viva.v1), captions,
// and lifecycle events to the embedding page.
import { SpokenAnswer } from "./answer.js";
import { Capture, CAPTURE_RATE, Playback, openMicrophone } from "./audio.js";
import { Captions } from "./captions.js";
import { CodingPanel } from "./coding.js";
import { Whiteboard } from "./whiteboard.js";

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
// What the room says about the candidate's open spoken answer, by phase (see answer.js).
const ANSWER_STATUS = {
  none: "",
  speaking: "Listening…",
  paused: "Listening — take your time. Press I'm done when you've finished.",
  ending: "Got it. One moment…",
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
  captions: null, // Captions, once the persona is known
  answer: new SpokenAnswer(), // the candidate's open spoken answer, if any
  elapsedBase: 0,
  elapsedAt: 0,
  coding: null, // CodingPanel, when the interview has a coding problem
  whiteboard: null, // Whiteboard, in a system-design interview
};
// The coding round's and the whiteboard's routes (issue 25), all with the session token.
const sessionApi = `/v1/sessions/${encodeURIComponent(config.sessionId)}`;

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
  const source = config.eventSource || "viva-interview";
  window.parent.postMessage({ source, action, sessionId: config.sessionId, ...extra }, origin);
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
  closeWorkspace();
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
  state.captions = new Captions($("#captions"), persona.name);
  setVoiceOnly(info.mode !== "chat");
  const [disclosed] = await Promise.all([loadDisclosure(), loadWorkspace()]);
  if (!disclosed) return fail("server_error", "The interview could not be loaded.");
  show("start");
  notifyParent("interviewLoaded");
}

// --- the workspace: the coding problem and editor, or the whiteboard --------------------------

async function loadWorkspace() {
  const api = {
    problemPath: `${sessionApi}/code/problem`,
    languagesPath: "/v1/code/languages",
    runsPath: `${sessionApi}/code/runs`,
    fetch: (path, init) => fetch(path, authorized(init)),
  };
  const coding = new CodingPanel($("#code-panel"), { api, notify: notifyParent, sessionId: config.sessionId });
  const wanted = state.info.workspace || {};
  const [hasProblem, board] = await Promise.all([
    wanted.code ? coding.load() : false,
    wanted.whiteboard ? loadBoard() : null,
  ]);
  const parts = [];
  if (hasProblem) {
    state.coding = coding;
    coding.wire();
    $("#code-panel").hidden = false;
    parts.push("There is a coding problem: you write and run your code here while you talk it through.");
  }
  if (board && board.enabled) {
    state.whiteboard = new Whiteboard($("#whiteboard-panel"), { save: saveBoard });
    $("#whiteboard-panel").hidden = false;
    parts.push("There is a whiteboard to draw your design on while you talk it through.");
  }
  if (!parts.length) return;
  $("#room").dataset.workspace = hasProblem ? "code" : "whiteboard";
  field("plan-summary").textContent += ` ${parts.join(" ")}`;
  state.pendingBoard = board;
}

async function loadBoard() {
  const response = await fetch(`${sessionApi}/whiteboard`, authorized()).catch(() => null);
  return response && response.ok ? response.json() : null;
}

async function saveBoard(board) {
  const response = await fetch(
    `${sessionApi}/whiteboard`,
    authorized({ method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(board) }),
  );
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((answer.error && answer.error.message) || `the server answered ${response.status}`);
  return answer;
}

// On the interview screen: the editor and the canvas measure what they show, so they start here.
async function showWorkspace() {
  if (!state.coding && !state.whiteboard) return;
  $("#workspace").hidden = false;
  if (state.whiteboard && !state.whiteboard.wired) {
    state.whiteboard.wired = true;
    state.whiteboard.wire();
    if (state.pendingBoard) state.whiteboard.load(state.pendingBoard);
  }
  if (state.coding) await state.coding.mount();
}

function closeWorkspace() {
  if (state.coding) state.coding.close();
  if (state.whiteboard && state.whiteboard.wired) state.whiteboard.close();
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
  state.answer.close();
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
  state.answer.close();
  state.streaming = true;
  show("interview");
  showWorkspace();
  // Speaking, the candidate's keyboard is free for "I'm done" (Enter); typing, the box is theirs.
  $(usesMicrophone() ? "#captions" : "#answer-text").focus({ preventScroll: true });
}

function handleMessage(message) {
  switch (message.type) {
    case "ready":
      handleReady(message);
      break;
    case "vad":
      field("candidate-speaking").classList.toggle("on", Boolean(message.speaking));
      state.answer.vad(Boolean(message.speaking));
      break;
    case "transcript":
      if (message.role && message.role !== "candidate") break;
      state.captions.candidate(message.turn, message.text, Boolean(message.final));
      if (message.final) state.answer.close();
      break;
    case "agent_text":
      state.captions.interviewer(message.turn, message.text);
      break;
    case "agent_audio":
      if (message.event === "start") state.answer.close();
      if (message.event === "end" && state.playback) state.playback.mark(message.turn);
      break;
    case "interrupt":
      if (state.playback) state.playback.flush();
      state.captions.interrupted(message.turn);
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
      // A message type this server does not know (`answer_done` before protocol v1.1): nothing
      // for the candidate to read, and not why a later close happened.
      if (message.code === "unknown_type" && !message.fatal) {
        state.answer.notFinished();
        break;
      }
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

// --- the open spoken answer: "I'm done" and the listening status ----------------------------

function renderAnswer(phase) {
  $("#room").dataset.answer = phase;
  field("answer-status").textContent = ANSWER_STATUS[phase];
  const open = state.answer.canFinish;
  const button = $("#answer-done");
  if (!open && button.contains(document.activeElement)) $("#captions").focus({ preventScroll: true });
  button.hidden = !open;
  button.disabled = !open;
  $("#answer-done-hint").hidden = !open;
}

async function finishAnswer() {
  if (!state.answer.canFinish) return;
  await flushBoard();
  if (state.answer.finish()) send({ type: "answer_done" });
}

// The whiteboard's last strokes reach the server before what makes the interviewer look at it.
async function flushBoard() {
  if (state.whiteboard && state.whiteboard.wired) await state.whiteboard.flush().catch(() => {});
}

// Enter says "I'm done" unless the focus is somewhere Enter already means something (the answer
// box, a button, the dialog).
// The code editor lives in a shadow root: its keys reach the document from its host element.
const ENTER_HAS_A_MEANING =
  "textarea, input, select, button, a[href], dialog, [contenteditable], .code-editor, canvas";

function answerDoneKey(event) {
  if (event.key !== "Enter" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  if (event.isComposing || event.repeat || !state.answer.canFinish) return;
  if ($("#room").dataset.current !== "interview") return;
  const target = event.target instanceof Element ? event.target : null;
  if (target && target.closest(ENTER_HAS_A_MEANING)) return;
  event.preventDefault();
  finishAnswer();
}

// --- feedback --------------------------------------------------------------------------------

function feedbackCard(message) {
  const card = document.createElement("article");
  card.className = "feedback-card";
  card.dataset.turn = String(message.turn);
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
  // A repaired answer is scored again: its new feedback replaces the old.
  const earlier = [...$("#feedback").children].find((other) => other.dataset.turn === card.dataset.turn);
  if (earlier) earlier.replaceWith(card);
  else $("#feedback").append(card);
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
  $("#answer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#answer-text");
    const text = input.value.trim();
    if (!text || !state.socket) return;
    input.value = "";
    await flushBoard();
    send({ type: "answer_text", text });
    state.captions.typed(text);
  });
  $("#answer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("#answer-form").requestSubmit();
    }
  });
  $("#answer-done").addEventListener("click", finishAnswer);
  document.addEventListener("keydown", answerDoneKey);
  state.answer.onchange = renderAnswer;
  renderAnswer(state.answer.phase);
  $("#end").addEventListener("click", () => $("#end-dialog").showModal());
  $("#end-dialog").addEventListener("close", async () => {
    if ($("#end-dialog").returnValue === "end") {
      await flushBoard();
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
