// Microphone capture and interviewer playback, each on its own AudioContext and AudioWorklet.

export const CAPTURE_RATE = 16000;

// Errors are the browser's own (NotAllowedError, NotFoundError...); the room maps them to screens.
export function openMicrophone() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const error = new Error("this browser cannot capture audio here (it needs HTTPS)");
    error.name = "NotSupportedError";
    return Promise.reject(error);
  }
  return navigator.mediaDevices.getUserMedia({
    audio: {
      echoCancellation: true, // the interviewer's voice must not come back as the candidate's
      // Off: while they adapt (the first seconds) they change how the voice sounds, and the
      // server's speaker check then took one candidate for two people. The server evens out
      // the level itself.
      noiseSuppression: false,
      autoGainControl: false,
      channelCount: 1,
    },
  });
}

// 20 ms frames of 16 kHz PCM s16le from a microphone stream. Set `onframe(pcm, level)`.
export class Capture {
  constructor(context, stream) {
    this.context = context;
    this.stream = stream;
    this.onframe = () => {};
  }

  static async start(stream) {
    const context = new AudioContext({ latencyHint: "interactive" });
    await context.audioWorklet.addModule(new URL("capture-processor.js", import.meta.url));
    const capture = new Capture(context, stream);
    const node = new AudioWorkletNode(context, "capture-processor", {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit", // down-mix a stereo microphone to mono
    });
    node.port.onmessage = ({ data }) => capture.onframe(data.pcm, data.level);
    context.createMediaStreamSource(stream).connect(node);
    await context.resume();
    return capture;
  }

  stop() {
    for (const track of this.stream.getTracks()) track.stop();
    this.context.close();
  }
}

// The interviewer's voice: PCM s16le at `sampleRate` queued in a worklet. Set `onplayed(turn)`
// and `onlevel(level, playedSeconds)`.
export class Playback {
  constructor(context, node) {
    this.context = context;
    this.node = node;
    this.sampleRate = context.sampleRate;
    this.onplayed = () => {};
    this.onlevel = () => {};
    node.port.onmessage = ({ data }) => {
      if (data.type === "played") this.onplayed(data.turn);
      else if (data.type === "level") this.onlevel(data.level, data.played / this.sampleRate, data.queued);
    };
  }

  static async create(sampleRate) {
    // The context runs at the server's rate, so the worklet plays samples as they come and the
    // browser resamples once, to the device.
    const context = new AudioContext({ sampleRate, latencyHint: "interactive" });
    await context.audioWorklet.addModule(new URL("playback-processor.js", import.meta.url));
    const node = new AudioWorkletNode(context, "playback-processor", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
    });
    node.connect(context.destination);
    await context.resume().catch(() => {});
    return new Playback(context, node);
  }

  get blocked() {
    return this.context.state !== "running";
  }

  resume() {
    return this.context.resume();
  }

  enqueue(buffer) {
    this.node.port.postMessage({ type: "pcm", buffer }, [buffer]);
  }

  mark(turn) {
    this.node.port.postMessage({ type: "mark", turn });
  }

  flush() {
    this.node.port.postMessage({ type: "flush" });
  }

  close() {
    this.context.close();
  }
}
