// The candidate's open spoken answer, as the stream reports it (protocol v1.1).
//
// An answer opens with `vad` speaking=true and stays open until the final candidate `transcript`
// for it: a `vad` speaking=false in between is a pause (thinking time), not the end of the
// answer, since the server waits out a patience window before it ends a turn on silence. While
// the answer is open the candidate may say it is complete (`answer_done`). No DOM in here: the
// room renders `phase`.
//
// Phases:
//   none      no open spoken answer (the interviewer's turn, or waiting for one to start)
//   speaking  the candidate is speaking (or stopped less than `pauseMs` ago)
//   paused    the answer is open and the candidate has been silent a while: take your time
//   ending    the candidate said "I'm done"; the final transcript is on its way

// The server reports a stop after 160 ms of silence, between phrases too: the room says "take
// your time" only once a pause has lasted this long, so the status does not flicker with every
// breath.
export const PAUSE_MS = 800;
// After "I'm done", how long to wait for the final transcript before showing the pause again
// (the server ignores `answer_done` when nothing it heard had words, so no final comes).
export const ENDING_TIMEOUT_MS = 10000;

export class SpokenAnswer {
  constructor({ pauseMs = PAUSE_MS, endingTimeoutMs = ENDING_TIMEOUT_MS } = {}) {
    this.phase = "none";
    this.pauseMs = pauseMs;
    this.endingTimeoutMs = endingTimeoutMs;
    this.silent = false; // the last `vad` said speaking=false
    this.onchange = () => {};
    this._timer = 0;
  }

  // True while "I'm done" means something: an answer is open and not already being ended.
  get canFinish() {
    return this.phase === "speaking" || this.phase === "paused";
  }

  vad(speaking) {
    this.silent = !speaking;
    if (speaking) this._set("speaking");
    else if (this.phase === "speaking") this._later(() => this._set("paused"), this.pauseMs);
  }

  // The candidate pressed "I'm done": returns true when `answer_done` should be sent.
  finish() {
    if (!this.canFinish) return false;
    this._set("ending");
    this._later(() => this.notFinished(), this.endingTimeoutMs);
    return true;
  }

  // `answer_done` had no effect (a server before protocol v1.1 answers `unknown_type`, or no
  // final came): the answer is still open.
  notFinished() {
    if (this.phase === "ending") this._set(this.silent ? "paused" : "speaking");
  }

  // The final candidate transcript, interviewer audio starting, a new connection: back to normal.
  close() {
    this.silent = false;
    this._set("none");
  }

  _later(action, delayMs) {
    clearTimeout(this._timer);
    this._timer = setTimeout(action, delayMs);
  }

  _set(phase) {
    clearTimeout(this._timer);
    this._timer = 0;
    if (phase === this.phase) return;
    this.phase = phase;
    this.onchange(phase);
  }
}
