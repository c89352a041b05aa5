// The coding round in the room (issue 25): the problem, a language picker, the code editor
// (CodeMirror 6, bundled in editor.js and loaded only when the interview has a problem), "Run
// tests" (the visible tests) and "Submit" (the hidden tests too). Runs go to the server
// (`POST /v1/sessions/{id}/code/runs`), which runs them in its sandbox and keeps them with the
// transcript for the interviewer; nothing runs in the page.

// What the room says about a run, by the server's `status`.
export const RUN_STATUS = {
  ok: "All tests passed.",
  failed: "Some tests failed.",
  timeout: "Time limit exceeded: the code ran too long.",
  memory: "Memory limit exceeded.",
  output_limit: "The code printed too much output.",
  error: "The code did not run (a syntax, compile or runtime error).",
};
const DRAFT_EVERY_MS = 500;
const MAX_OUTPUT_CHARS = 20000; // shown; the server caps what it returns anyway

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// The languages route's answer, whatever its wrapping: [{id, name}], available ones only.
export function languagesOf(answer) {
  const list = Array.isArray(answer) ? answer : (answer && answer.languages) || [];
  return list
    .map((item) => (typeof item === "string" ? { id: item, name: item } : item))
    .filter((item) => item && item.id && item.available !== false)
    .map((item) => ({ id: String(item.id), name: String(item.name || item.label || item.id) }));
}

// How a test ended, by the server's `outcome` (visible tests; hidden ones say only pass/fail).
const OUTCOMES = {
  passed: "✓ passed",
  wrong_answer: "✗ wrong answer",
  runtime_error: "✗ runtime error",
  timeout: "✗ time limit",
  memory: "✗ memory limit",
  output_limit: "✗ output limit",
  skipped: "– not run",
};

function limitsText(limits) {
  if (!limits) return "";
  const parts = [];
  if (limits.time_ms) parts.push(`${limits.time_ms / 1000} s`);
  if (limits.memory_mb) parts.push(`${limits.memory_mb} MB`);
  return parts.length ? `${parts.join(" and ")} per test` : "";
}

export class CodingPanel {
  // root: the panel's element (room.html #code-panel); api: {problemPath, languagesPath,
  // runsPath, fetch(path, init) with the session token}; notify(action, extra): the parent's
  // lifecycle events.
  constructor(root, { api, notify, sessionId }) {
    this.root = root;
    this.api = api;
    this.notify = notify;
    this.sessionId = sessionId;
    this.problem = null;
    this.languages = [];
    this.language = null;
    this.editor = null;
    this.running = false;
    this.submitted = false;
    this.closed = false;
    this._draftTimer = 0;
    this.$ = (selector) => root.querySelector(selector);
  }

  // Loads the session's problem (GET .../code/problem: the problem as the candidate sees it,
  // the languages allowed, starter code per language, the last code run); false when there is
  // none (409 no_coding_round): the panel stays hidden.
  async load() {
    const response = await this.api.fetch(this.api.problemPath).catch(() => null);
    if (!response || !response.ok) return false;
    const answer = await response.json();
    const problem = answer && answer.problem;
    if (!problem || !(problem.statement || problem.title)) return false;
    this.problem = problem;
    this.starters = answer.starter || {};
    this.lastCode = answer.last_code || null;
    this.required = Boolean(answer.required);
    this.languages = languagesOf(answer.languages);
    if (!this.languages.length) {
      const listed = await this.api.fetch(this.api.languagesPath).catch(() => null);
      if (listed && listed.ok) this.languages = languagesOf(await listed.json());
    }
    this.renderProblem();
    return true;
  }

  // What the editor starts with in a language: this tab's draft, else the code last run in it
  // (from any device), else the starter code.
  initialCode(language) {
    const draft = this.draft(language);
    if (draft !== null) return draft;
    if (this.lastCode && this.lastCode.language === language) return this.lastCode.code;
    return this.starters[language] || "";
  }

  renderProblem() {
    const problem = this.problem;
    this.$("[data-code=title]").textContent = problem.title || "Coding problem";
    this.$("[data-code=difficulty]").textContent = problem.difficulty || "";
    const statement = this.$("[data-code=statement]");
    statement.replaceChildren(
      ...String(problem.statement || "")
        .split(/\n\s*\n/)
        .filter((part) => part.trim())
        .map((part) => element("p", { textContent: part.trim() })),
    );
    const facts = [
      ["Input", problem.input_format],
      ["Output", problem.output_format],
      ["Limits", limitsText(problem.limits)],
    ].filter(([, value]) => value);
    if (facts.length) {
      statement.append(
        element(
          "dl",
          { className: "problem-facts" },
          ...facts.flatMap(([label, value]) => [element("dt", { textContent: label }), element("dd", { textContent: value })]),
        ),
      );
    }
    const examples = this.$("[data-code=examples]");
    const items = Array.isArray(problem.examples) ? problem.examples : [];
    examples.replaceChildren(
      ...items.map((example, index) => {
        const rows = [
          ["Input", example.input],
          ["Output", example.output ?? example.expected],
          ["Explanation", example.explanation],
        ].filter(([, value]) => value !== undefined && value !== null && value !== "");
        return element(
          "figure",
          { className: "example" },
          element("figcaption", { textContent: `Example ${index + 1}` }),
          ...rows.map(([label, value]) =>
            element(
              "div",
              { className: "example-row" },
              element("span", { className: "example-label", textContent: `${label}:` }),
              element("pre", { textContent: typeof value === "string" ? value : JSON.stringify(value) }),
            ),
          ),
        );
      }),
    );
    examples.hidden = !items.length;
    const visible = Array.isArray(problem.tests) ? problem.tests.length : 0;
    const hidden = problem.hidden_tests || 0;
    this.$("[data-code=tests-note]").textContent =
      `Run tests checks ${visible} visible ${visible === 1 ? "test" : "tests"}` +
      (hidden ? `; Submit also runs ${hidden} hidden ${hidden === 1 ? "test" : "tests"}.` : ".") +
      (this.required ? " This interview expects a submission." : "");
    const picker = this.$("#code-language");
    picker.replaceChildren(
      ...this.languages.map((language) => element("option", { value: language.id, textContent: language.name })),
    );
    const preferred = this.lastCode ? this.lastCode.language : null;
    const first = this.languages.find((l) => l.id === preferred) || this.languages[0];
    this.language = first ? first.id : null;
    if (this.language) picker.value = this.language;
    picker.disabled = this.languages.length < 2;
    this.setControls();
    if (!this.languages.length) this.say("No programming language is available for this problem.", "error");
  }

  // Creates the editor once the panel is on screen (CodeMirror measures what it shows).
  async mount() {
    if (this.editor || !this.problem) return;
    const { createEditor } = await import("./editor.js");
    this.editor = createEditor(this.$("#code-editor"), {
      doc: this.initialCode(this.language),
      language: this.language,
      label: `Code editor${this.language ? ` (${this.languageName(this.language)})` : ""}`,
      onChange: () => this.saveDraftSoon(),
    });
    this.root.dataset.editor = "ready";
    this.setControls();
  }

  wire() {
    this.$("#code-language").addEventListener("change", (event) => this.switchLanguage(event.target.value));
    this.$("#code-run").addEventListener("click", () => this.run(false));
    this.$("#code-submit").addEventListener("click", () => this.run(true));
  }

  languageName(id) {
    const found = this.languages.find((language) => language.id === id);
    return found ? found.name : id;
  }

  // One buffer per language: the code written in the one left is kept (and comes back when the
  // candidate returns to it); the new one shows its own draft, or its starter code.
  switchLanguage(id) {
    if (!this.editor || id === this.language) return;
    this.saveDraft();
    this.language = id;
    this.editor.setLanguage(id);
    this.editor.setCode(this.initialCode(id));
    this.editor.setLabel(`Code editor (${this.languageName(id)})`);
  }

  // Drafts per language in this tab's storage: a reload keeps the candidate's code.
  draftKey(language) {
    return `viva-code:${this.sessionId}:${language}`;
  }

  draft(language) {
    try {
      return sessionStorage.getItem(this.draftKey(language));
    } catch {
      return null;
    }
  }

  saveDraft() {
    clearTimeout(this._draftTimer);
    if (!this.editor || !this.language) return;
    try {
      sessionStorage.setItem(this.draftKey(this.language), this.editor.getCode());
    } catch {
      // storage blocked (a third-party frame): the code stays in the editor
    }
  }

  saveDraftSoon() {
    clearTimeout(this._draftTimer);
    this._draftTimer = setTimeout(() => this.saveDraft(), DRAFT_EVERY_MS);
  }

  setControls() {
    const busy = this.running || this.closed || !this.language || !this.editor;
    this.$("#code-run").disabled = busy;
    this.$("#code-submit").disabled = busy;
    this.root.dataset.state = this.closed ? "closed" : this.running ? "running" : "idle";
  }

  say(text, kind = "") {
    const status = this.$("[data-code=status]");
    status.textContent = text;
    status.dataset.kind = kind;
  }

  async run(submit) {
    if (this.running || this.closed || !this.editor) return;
    const code = this.editor.getCode();
    if (!code.trim()) {
      this.say("Write some code first.", "error");
      return;
    }
    this.saveDraft();
    this.running = true;
    this.setControls();
    this.say(submit ? "Submitting: running every test…" : "Running the visible tests…", "busy");
    this.$("[data-code=results]").replaceChildren();
    const started = performance.now();
    const response = await this.api
      .fetch(this.api.runsPath, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ language: this.language, code, submit }),
      })
      .catch(() => null);
    this.running = false;
    this.setControls();
    if (!response) {
      this.say("The server could not be reached: try again.", "error");
      return;
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = answer.error || {};
      this.say(error.message || `The run failed (${response.status}).`, "error");
      this.notify(submit ? "code.submitted" : "code.run", {
        submit,
        language: this.language,
        status: "refused",
        code: error.code || `http_${response.status}`,
      });
      return;
    }
    this.showResult(answer, submit, Math.round(performance.now() - started));
  }

  showResult(result, submit, roundTripMs) {
    const tests = Array.isArray(result.tests) ? result.tests : [];
    const passed = tests.filter((test) => test.passed).length;
    const summary = RUN_STATUS[result.status] || `The run ended: ${result.status}.`;
    let counted = tests.length ? ` ${passed} of ${tests.length} tests passed.` : "";
    if (typeof result.visible_total === "number") {
      counted = ` Visible tests: ${result.visible_passed} of ${result.visible_total} passed.`;
      if (result.hidden_total) counted += ` Hidden tests: ${result.hidden_passed} of ${result.hidden_total} passed.`;
    }
    this.say(`${submit ? "Submitted. " : ""}${summary}${counted}`, result.status === "ok" ? "ok" : "error");
    const results = this.$("[data-code=results]");
    results.dataset.status = result.status;
    results.dataset.submit = String(submit);
    results.dataset.roundTripMs = String(roundTripMs);
    const children = [];
    if (tests.length) {
      children.push(
        element(
          "table",
          { className: "tests" },
          element(
            "thead",
            {},
            element(
              "tr",
              {},
              element("th", { scope: "col", textContent: "Test" }),
              element("th", { scope: "col", textContent: "Result" }),
              element("th", { scope: "col", textContent: "Time" }),
            ),
          ),
          element(
            "tbody",
            {},
            ...tests.map((test) =>
              element(
                "tr",
                { dataset: { passed: String(Boolean(test.passed)), outcome: test.outcome || "" } },
                element("td", { textContent: `${test.name ?? ""}${test.hidden ? " (hidden)" : ""}` }),
                element("td", {
                  className: "verdict",
                  textContent: OUTCOMES[test.outcome] || (test.passed ? "✓ passed" : "✗ failed"),
                }),
                element("td", {
                  textContent: typeof test.time_ms === "number" ? `${Math.round(test.time_ms)} ms` : "",
                }),
              ),
            ),
          ),
        ),
      );
    }
    for (const [name, kind, text] of [["Output", "stdout", result.stdout], ["Errors", "stderr", result.stderr]]) {
      if (!text) continue;
      const shown = text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}\n…` : text;
      children.push(
        element(
          "details",
          { className: `output ${kind}`, open: kind === "stderr" || !tests.length },
          element("summary", { textContent: name }),
          element("pre", { textContent: shown }),
        ),
      );
    }
    if (typeof result.time_ms === "number") {
      children.push(element("p", { className: "run-time", textContent: `Ran in ${Math.round(result.time_ms)} ms.` }));
    }
    results.replaceChildren(...children);
    if (submit) {
      this.submitted = true;
      this.root.dataset.submitted = "true";
    }
    const event = { submit, language: this.language, status: result.status, passed, total: tests.length };
    if (submit && typeof result.hidden_total === "number") {
      Object.assign(event, { hiddenPassed: result.hidden_passed, hiddenTotal: result.hidden_total });
    }
    this.notify(submit ? "code.submitted" : "code.run", event);
  }

  // The interview is over: the code stays readable, nothing more runs.
  close() {
    this.closed = true;
    this.saveDraft();
    if (this.editor) this.editor.setReadOnly(true);
    this.setControls();
  }
}
