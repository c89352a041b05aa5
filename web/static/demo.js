// The demo host: pick a catalogue interview and a persona, embed the room, then show the report.
// It talks only to this server's /demo routes, which play the customer's backend.
const $ = (id) => document.getElementById(id);
const form = $("setup");
const interviewSelect = $("interview");
const gradeSelect = $("grade");
const frame = $("room");
let catalogue = null;
let current = null; // {sessionId, token}
let reportUrl = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function logEvent(text) {
  $("events").append(el("li", { textContent: text }));
}

function selectedInterview() {
  for (const track of catalogue.tracks) {
    const found = track.interviews.find((i) => i.id === interviewSelect.value);
    if (found) return found;
  }
  return null;
}

function showInterview() {
  const interview = selectedInterview();
  if (!interview) return;
  $("interview-blurb").textContent = `${interview.blurb} ${interview.level}, about ${interview.minutes} minutes.`;
  gradeSelect.replaceChildren(...interview.grades.map((g) => el("option", { value: g, textContent: g })));
  $("grade-field").hidden = interview.grades.length === 0;
}

async function loadCatalogue() {
  const response = await fetch("/demo/catalogue");
  catalogue = await response.json();
  for (const track of catalogue.tracks) {
    if (!track.interviews.length) continue;
    const group = el("optgroup", { label: track.name });
    for (const interview of track.interviews) {
      group.append(el("option", { value: interview.id, textContent: `${interview.title} (${interview.level})` }));
    }
    interviewSelect.append(group);
  }
  interviewSelect.value = catalogue.default.interview_id;
  showInterview();
  const personas = $("personas");
  for (const persona of catalogue.personas) {
    const input = el("input", { type: "radio", name: "persona", value: persona.id, id: `persona-${persona.id}` });
    input.checked = persona.id === catalogue.default.persona_id;
    personas.append(
      el("label", { class: "persona", htmlFor: input.id }, input,
        el("strong", { textContent: ` ${persona.name}` }),
        el("span", { textContent: `, ${persona.title}. ${persona.description}` })),
    );
  }
  $("practice").checked = Boolean(catalogue.default.practice);
}

interviewSelect.addEventListener("change", showInterview);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("setup-error");
  error.hidden = true;
  const persona = form.querySelector('input[name="persona"]:checked');
  const choice = {
    interview_id: interviewSelect.value,
    persona_id: persona ? persona.value : undefined,
    practice: $("practice").checked,
  };
  if (!$("grade-field").hidden) choice.grade = gradeSelect.value;
  $("new-session").disabled = true;
  try {
    const response = await fetch("/demo/sessions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(choice),
    });
    const body = await response.json();
    if (!response.ok) {
      error.textContent = `Could not start: ${body.error ? body.error.message : response.status}`;
      error.hidden = false;
      return;
    }
    const fragment = new URLSearchParams(body.embed_url.split("#")[1] || "");
    current = { sessionId: body.session_id, token: fragment.get("token") };
    form.hidden = true;
    $("report").hidden = true;
    $("events").replaceChildren();
    $("interview-area").hidden = false;
    frame.src = body.embed_url;
    frame.focus();
  } finally {
    $("new-session").disabled = false;
  }
});

window.addEventListener("message", (event) => {
  if (event.origin !== location.origin || !event.data || event.data.source !== "viva-interview") return;
  logEvent(JSON.stringify(event.data));
  if (current && event.data.sessionId === current.sessionId &&
      (event.data.action === "interviewFinished" || event.data.action === "interviewAlreadyCompleted")) {
    loadReport(true);
  }
});

$("show-report").addEventListener("click", () => loadReport(false));

$("again").addEventListener("click", () => {
  current = null;
  frame.removeAttribute("src");
  $("interview-area").hidden = true;
  $("report").hidden = true;
  form.hidden = false;
});

// -- the report -------------------------------------------------------------------------------

async function loadReport(finished) {
  if (!current) return;
  const section = $("report");
  section.hidden = false;
  const status = $("report-status");
  status.textContent = "Scoring…";
  // Scoring runs as the session ends: wait for it a little when the room says it finished.
  for (let attempt = 0; attempt < (finished ? 30 : 1); attempt += 1) {
    const response = await fetch(`/demo/sessions/${encodeURIComponent(current.sessionId)}/report`, {
      headers: { Authorization: `Bearer ${current.token}` },
    });
    const body = await response.json();
    if (!response.ok) {
      status.textContent = `Could not read the report: ${body.error ? body.error.message : response.status}`;
      return;
    }
    if (body.session.report) {
      renderReport(body);
      section.scrollIntoView({ behavior: "smooth", block: "start" });
      return;
    }
    if (!finished) {
      status.textContent = `No report yet: the session is ${body.session.status}. It appears here when the interview ends.`;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  status.textContent = "The report is not ready yet: try “Show the report now” in a moment.";
}

function renderReport(body) {
  const { session, transcript } = body;
  const report = session.report;
  $("report-status").textContent = `Session ${session.id}: ${session.status}.`;
  $("report-body").hidden = false;
  const field = (name) => document.querySelector(`[data-field="${name}"]`);
  field("overall-score").textContent = report.overall_score === null ? "–" : String(report.overall_score);
  field("verdict").textContent = `Verdict: ${report.verdict}`;
  field("summary").textContent = report.summary;

  if (reportUrl) URL.revokeObjectURL(reportUrl);
  reportUrl = URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }));
  $("report-json").href = reportUrl;
  $("api-path").textContent = `GET ${body.api.session}`;

  const rows = (report.competencies || []).map((c) => {
    const evidence = el("ul", { class: "evidence" },
      ...(c.evidence || []).map((e) => el("li", {},
        el("q", { textContent: e.quote }), " ",
        el("a", { href: `#turn-${e.turn}`, textContent: `turn ${e.turn}` }))));
    return el("tr", { "data-competency": c.name },
      el("th", { scope: "row", textContent: c.name.replace(/_/g, " ") }),
      el("td", { textContent: `${Math.round(c.weight * 100)} %` }),
      el("td", { class: "num", textContent: c.score === null ? "–" : String(c.score) }),
      el("td", {}, el("p", { textContent: c.explanation }), evidence));
  });
  document.querySelector("#competencies tbody").replaceChildren(...rows);

  $("questions").replaceChildren(...(report.questions || []).map((q) => el("li", {},
    el("p", {}, el("strong", { textContent: q.question }), ` ${q.score}/100`),
    el("p", { class: "hint", textContent: q.feedback }))));

  $("integrity").replaceChildren(...integrityItems(report));
  $("transcript").replaceChildren(...((transcript && transcript.turns) || []).map(turnItem));
}

function integrityItems(report) {
  const signals = report.fraud_signals;
  if (!signals) {
    return [el("li", { textContent: "None measured: the signals come from the candidate's voice, and these answers were typed." })];
  }
  const items = [];
  const speakers = signals.multiple_speakers || {};
  items.push(el("li", { "data-signal": "multiple_speakers",
    textContent: speakers.detected
      ? `Another voice: ${speakers.other_seconds} s, at ${(speakers.ranges || []).map(span).join(", ")}`
      : `One voice throughout (${speakers.candidate_seconds ?? 0} s of the candidate)` }));
  const reading = signals.reading_detected || {};
  items.push(el("li", { "data-signal": "reading_detected",
    textContent: reading.enabled === false
      ? `Reading aloud: not assessed (${reading.reason || "off"})`
      : `Reading aloud: ${reading.detected ? "possible" : "not detected"}${reading.confidence === null || reading.confidence === undefined ? "" : ` (confidence ${reading.confidence})`}` }));
  const amount = signals.too_little_speech || {};
  items.push(el("li", { "data-signal": "too_little_speech",
    textContent: amount.detected
      ? `Too little speech to assess: ${amount.candidate_seconds} s, ${amount.words} words`
      : `Enough speech: ${amount.candidate_seconds ?? "?"} s, ${amount.words ?? "?"} words` }));
  return items;
}

function span(range) {
  const start = range.start_s ?? range.start;
  const end = range.end_s ?? range.end;
  return `${Number(start).toFixed(1)}–${Number(end).toFixed(1)} s`;
}

function turnItem(turn) {
  const item = el("li", { id: `turn-${turn.index}`, class: `turn ${turn.role}`, value: turn.index },
    el("span", { class: "who", textContent: turn.role === "candidate" ? "Candidate" : "Interviewer" }),
    el("span", { class: "source", textContent: turn.role === "candidate" ? ` (${turn.source})` : "" }),
    el("p", { textContent: turn.text }));
  const excluded = (turn.meta && turn.meta.excluded_speech) || [];
  for (const part of excluded) {
    const why = part.reason === "interviewer_echo" ? "the interviewer's voice coming back" : "another voice";
    item.append(el("p", { class: "excluded", "data-excluded": part.reason },
      el("del", { textContent: part.text }),
      el("span", { class: "hint", textContent: ` left out: ${why}, ${span(part)}` })));
  }
  return item;
}

// For the page's own tests: render a report body as /demo/sessions/{id}/report returns it.
window.vivaDemo = { renderReport };

loadCatalogue().catch((error) => {
  $("setup-error").textContent = `Could not load the catalogue: ${error}`;
  $("setup-error").hidden = false;
});
