// Interviewer speech in the audio thread: a queue of PCM s16le chunks played in order at the
// context's rate (created at the server's audio_out rate). Marks in the queue report when a
// turn's audio has been played out; "flush" drops everything queued at once (barge-in).
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = []; // {samples: Int16Array, offset} or {mark: turn}
    this.played = 0; // samples played since start, for the page's counter
    this.energy = 0;
    this.counted = 0;
    this.port.onmessage = ({ data }) => {
      if (data.type === "pcm") this.queue.push({ samples: new Int16Array(data.buffer), offset: 0 });
      else if (data.type === "mark") this.queue.push({ mark: data.turn });
      else if (data.type === "flush") this.queue = [];
    };
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    let written = 0;
    while (this.queue.length > 0 && written < out.length) {
      const head = this.queue[0];
      if (head.mark !== undefined) {
        this.port.postMessage({ type: "played", turn: head.mark });
        this.queue.shift();
        continue;
      }
      const count = Math.min(out.length - written, head.samples.length - head.offset);
      for (let k = 0; k < count; k++) {
        const value = head.samples[head.offset + k] / 32768;
        out[written + k] = value;
        this.energy += value * value;
      }
      written += count;
      head.offset += count;
      if (head.offset === head.samples.length) this.queue.shift();
    }
    this.played += written;
    this.counted += out.length;
    // About ten reports a second: level for the speaking indicator, total played for the page.
    if (this.counted >= sampleRate / 10) {
      const level = Math.sqrt(this.energy / this.counted);
      this.port.postMessage({ type: "level", level, played: this.played, queued: this.queue.length });
      this.energy = 0;
      this.counted = 0;
    }
    return true;
  }
}

registerProcessor("playback-processor", PlaybackProcessor);
