// Live captions: one line per turn, keyed by role and the server's turn index.
//
// Protocol v1.1 repair: when the interviewer starts to reply and the candidate goes on with the
// same answer, the server sends `interrupt` for the reply, drops it (its turn index is used again
// by the next reply), and later sends a final `transcript` for the candidate turn that was already
// final. That final replaces the earlier caption instead of adding one, and the dropped reply is
// marked as such: it was never asked. The sign of a repair is a candidate transcript whose turn
// index is not after an interrupted interviewer turn (after a barge-in, the candidate's turn
// comes after the interviewer's).

export function normalize(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
}

const DROPPED_NOTE = "(stopped: you were still answering)";

export class Captions {
  constructor(container, interviewerName) {
    this.container = container;
    this.names = { interviewer: `${interviewerName}:`, candidate: "You:" };
    this.pendingTyped = null; // the caption of a typed answer not yet confirmed by a transcript
  }

  // The live (not dropped) line of one turn, created at the end when there is none.
  line(role, turn) {
    let line = this.find(role, turn);
    if (!line) {
      line = document.createElement("p");
      line.className = `caption ${role}`;
      line.dataset.role = role;
      line.dataset.turn = String(turn);
      const speaker = document.createElement("span");
      speaker.className = "speaker";
      speaker.textContent = this.names[role];
      const text = document.createElement("span");
      text.className = "text";
      line.append(speaker, text);
      this.container.append(line);
    }
    return line;
  }

  find(role, turn) {
    const lines = this.container.querySelectorAll(`.caption[data-role="${role}"]:not([data-dropped])`);
    return [...lines].find((line) => line.dataset.turn === String(turn)) || null;
  }

  // A candidate `transcript`: partials while speaking, then one final per turn (or a new final for
  // a turn already final, after a repair).
  candidate(turn, text, final) {
    const typed = this.pendingTyped;
    let line;
    if (typed && normalize(textOf(typed)) === normalize(text)) {
      typed.dataset.turn = String(turn); // the server's record of the typed answer
      this.pendingTyped = null;
      line = typed;
    } else {
      line = this.line("candidate", turn);
    }
    if (final) {
      // One candidate turn is open at a time: partial lines left under another index (the
      // continuation of a repaired answer) were this answer's, which the final now holds.
      for (const other of this.container.querySelectorAll('.caption.candidate[data-final="false"]')) {
        if (other !== line) other.remove();
      }
      // Typed words while speaking extend the same turn: the final holds them too.
      if (typed && typed !== line && this.pendingTyped) {
        const words = normalize(textOf(typed));
        if (words && normalize(text).endsWith(words)) {
          typed.remove();
          this.pendingTyped = null;
        }
      }
      line.dataset.finalText = text;
      setText(line, text, true);
    } else {
      const shown = continued(line.dataset.finalText, text);
      if (shown === null) return; // an older partial of what is already final: nothing new
      setText(line, shown, false);
    }
    this.dropRepliesFrom(turn);
    this.scroll();
  }

  // A typed answer, shown at once; the transcript that follows confirms it.
  typed(text) {
    const line = this.line("candidate", `typed-${Date.now()}`);
    setText(line, text, true);
    this.pendingTyped = line;
    this.scroll();
    return line;
  }

  interviewer(turn, text) {
    const line = this.line("interviewer", turn);
    const span = line.querySelector(".text");
    span.textContent = span.textContent ? `${span.textContent} ${text}` : text;
    line.dataset.final = "true";
    this.scroll();
  }

  // `interrupt`: the interviewer stopped mid-turn (a barge-in, or the start of a repair).
  interrupted(turn) {
    const line = this.find("interviewer", turn);
    if (!line || line.dataset.interrupted) return;
    line.dataset.interrupted = "true";
    line.classList.add("interrupted");
    line.querySelector(".text").textContent += " —";
  }

  // Candidate speech for turn `turn` means the server dropped every interrupted reply from that
  // index on: the candidate was still answering.
  dropRepliesFrom(turn) {
    const index = Number(turn);
    if (!Number.isInteger(index)) return;
    const replies = this.container.querySelectorAll(
      '.caption.interviewer[data-interrupted="true"]:not([data-dropped])',
    );
    for (const line of replies) {
      if (Number(line.dataset.turn) < index) continue;
      line.dataset.dropped = "true";
      line.classList.add("dropped");
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = ` ${DROPPED_NOTE}`;
      line.append(note);
    }
  }

  scroll() {
    this.container.scrollTop = this.container.scrollHeight;
  }
}

function textOf(line) {
  return line.querySelector(".text").textContent;
}

function setText(line, text, final) {
  line.querySelector(".text").textContent = text;
  line.classList.toggle("partial", !final);
  line.dataset.final = String(final);
}

// What to show for a partial of a turn whose caption was already final (`before`): the partial
// alone when it is the whole answer again, `null` when it has nothing new, else the final text
// with the words after the pause.
function continued(before, partial) {
  if (!before) return partial;
  const old = normalize(before).split(" ");
  const now = normalize(partial).split(" ");
  const k = Math.min(3, old.length, now.length);
  const sameStart = old.slice(0, k).join(" ") === now.slice(0, k).join(" ");
  if (sameStart) return now.length > old.length ? partial : null;
  return `${before} ${partial}`;
}
