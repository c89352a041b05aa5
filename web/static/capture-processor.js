// Microphone capture in the audio thread: resample from the context's rate to 16 kHz and hand
// the main thread 20 ms frames of PCM s16le, each with its RMS level for the meter.
const TARGET_RATE = 16000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz
const TAPS = 31;

// Windowed-sinc low-pass (Hamming), so that downsampling does not fold highs into speech.
function lowPass(cutoff, taps) {
  const mid = (taps - 1) / 2;
  const h = new Float32Array(taps);
  let sum = 0;
  for (let n = 0; n < taps; n++) {
    const x = n - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    h[n] = sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (taps - 1)));
    sum += h[n];
  }
  return h.map((v) => v / sum);
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    // 0.45 of the output rate keeps a margin below its Nyquist frequency.
    this.taps = this.step > 1 ? lowPass((0.45 * TARGET_RATE) / sampleRate, TAPS) : Float32Array.of(1);
    this.history = new Float32Array(this.taps.length);
    this.head = 0;
    this.previous = 0; // last filtered sample
    this.phase = 1; // where the next output falls, in input samples after `previous`
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.energy = 0;
  }

  filter(sample) {
    const { history, taps } = this;
    history[this.head] = sample;
    let acc = 0;
    let index = this.head;
    for (let j = 0; j < taps.length; j++) {
      acc += taps[j] * history[index];
      index = index === 0 ? history.length - 1 : index - 1;
    }
    this.head = (this.head + 1) % history.length;
    return acc;
  }

  emit(value) {
    const clipped = Math.max(-1, Math.min(1, value));
    this.frame[this.filled++] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
    this.energy += clipped * clipped;
    if (this.filled === FRAME_SAMPLES) {
      const pcm = this.frame.buffer;
      this.port.postMessage({ pcm, level: Math.sqrt(this.energy / FRAME_SAMPLES) }, [pcm]);
      this.frame = new Int16Array(FRAME_SAMPLES);
      this.filled = 0;
      this.energy = 0;
    }
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const current = this.filter(channel[i]);
      // Linear interpolation between the two latest filtered samples.
      while (this.phase <= 1) {
        this.emit(this.previous + (current - this.previous) * this.phase);
        this.phase += this.step;
      }
      this.phase -= 1;
      this.previous = current;
    }
    return true;
  }
}

registerProcessor("capture-processor", CaptureProcessor);
