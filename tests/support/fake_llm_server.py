#!/usr/bin/env python3
"""A fake LLM server for kforge's tests: OpenAI Chat Completions and Anthropic Messages,
streaming included, on 127.0.0.1 only. Python 3 standard library only.

Prints the port it listens on (one line) and serves until killed.

How it behaves is chosen by the request's model name: `BEHAVIOUR[xN][/tag]`.
  ok          a normal answer with a candidate .cu (the default for any other name)
  429         429 with Retry-After: 1          500     500 with an error body
  slow        answers after 5 s                drop    closes the connection, no response
  stall       sends half of the answer (or stream), then nothing for 30 s
  truncate    the body (or stream) stops part way and the connection closes
  malformed   200 with a body that is not JSON (or a stream event that is not)
  nocode      an answer with prose and no code block
  huge        an answer of about 3 MB of prose, then the code
  401         401 with an error body that echoes the key it was sent
  404         the model does not exist (provider-style error body)
Local OpenAI-compatible servers' quirks (vLLM, SGLang, llama.cpp's server, Ollama):
  nousage     no token usage anywhere: stream_options.include_usage is ignored
  local       a plain answer as local servers shape it: `"tool_calls": []` and
              `"reasoning_content": null` in the message, a first stream delta whose content is
              null, no usage, no tool calls
  reasoning   vLLM's and SGLang's reasoning parsers: the thinking comes first in
              `reasoning_content` (message, or stream deltas), the answer in `content`
  length      finish_reason "length" (Anthropic: stop_reason "max_tokens"): the answer is cut
              off inside its code block
  lengthprose the same limit hit after the code block closed, in the prose after it
  ollama404   404 with Ollama's string error body {"error": "model ... not found ..."}
Real servers' refusals, chosen by the model name as the real server knows it (before any
`/tag`), whatever the behaviour:
  o1*, o3*, o4*, gpt-5*  (OpenAI reasoning models) 400 unsupported_parameter for `max_tokens`,
              400 unsupported_value for a temperature other than 1, with OpenAI's error body
  any Anthropic request with `thinking`: 400 for a budget under 1024, for max_tokens not above
              the budget, for a temperature other than 1; the answer then starts with a thinking
              block (thinking_delta and signature_delta when streamed)
  claude-opus-4-7*  400 for any temperature, and for thinking of type "enabled"
With `xN` the misbehaviour applies to the first N requests for that exact model name; later
ones are answered normally. `/tag` only makes names distinct between tests.
If started with --key K, a request without that key gets 401. --latency S delays every answer by
S seconds and --vary makes each answer's candidate source distinct (bench/optimize_bench.sh).
--candidate FILE answers with that .cu file's text as the candidate instead of the built-in one.
--answer FILE answers with that file's text as the whole answer (an ok answer's; the misbehaviours
keep theirs), e.g. the JSON list of points a tuning run's LLM start asks for.
--nonascii puts a non-ASCII character in every answer's launch plan (`"x.shape[1] \u00d7 1"`), which
kforge must judge a plan_error without ending the run.

Control endpoints: GET or POST /control/requests (every request seen: path, model, headers, body),
POST /control/reset (forget requests and counters).
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CANDIDATE = """/* kforge:launch
{"kernels": [{"name": "scale_rows", "grid": ["x.shape[0]"], "block": ["BLOCK"],
  "shared_bytes": "0", "args": ["x", "out", "x.shape[1]"]}],
 "scratch": [], "defines": {"BLOCK": {"default": 256, "values": [128, 256]}}}
*/
extern "C" __global__ void scale_rows(const float* x, float* out, long cols) {
  long row = blockIdx.x;
  for (long c = threadIdx.x; c < cols; c += blockDim.x) out[row * cols + c] = 2.0f * x[row * cols + c];
}
"""

ANSWER = [None]  # --answer: the whole text of every ok answer
LOCK = threading.Lock()
COUNTS = {}
REQUESTS = []
SERIAL = [0]


def parse_model(model):
    name = model.split("/", 1)[0]
    limit = None
    if "x" in name and name.rsplit("x", 1)[1].isdigit():
        name, limit = name.rsplit("x", 1)
        limit = int(limit)
    return name, limit


OPENAI_REASONING = ("o1", "o3", "o4", "gpt-5")
REASONING_TEXT = ("Thinking: a row per block. A first draft: /* kforge:launch {} */ "
                  "extern \"C\" __global__ void draft() {} -- no, scale_rows is better.")


def openai_refusal(model, request):
    """What OpenAI answers a reasoning model's request it does not accept, or None."""
    if not model.split("/", 1)[0].startswith(OPENAI_REASONING):
        return None
    def refusal(message, param, code):
        return {"error": {"message": message, "type": "invalid_request_error",
                          "param": param, "code": code}}
    if "max_tokens" in request:
        return refusal("Unsupported parameter: 'max_tokens' is not supported with this model. "
                       "Use 'max_completion_tokens' instead.", "max_tokens",
                       "unsupported_parameter")
    if "temperature" in request and request["temperature"] != 1:
        return refusal(f"Unsupported value: 'temperature' does not support "
                       f"{request['temperature']} with this model. Only the default (1) value "
                       f"is supported.", "temperature", "unsupported_value")
    return None


def anthropic_refusal(model, request):
    """What Anthropic answers a request it does not accept, or None."""
    def refusal(message):
        return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    thinking = request.get("thinking") or {}
    name = model.split("/", 1)[0]
    if name.startswith("claude-opus-4-7"):
        if "temperature" in request:
            return refusal("`temperature` is deprecated for this model.")
        if thinking.get("type") == "enabled":
            return refusal('"thinking.type.enabled" is not supported for this model. Use '
                           '"thinking.type.adaptive" and "output_config.effort" to control '
                           'thinking behavior.')
    if thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens", 0)
        if budget < 1024:
            return refusal("thinking.enabled.budget_tokens: Input should be greater than or "
                           "equal to 1024")
        if request.get("max_tokens", 0) <= budget:
            return refusal("`max_tokens` must be greater than `thinking.budget_tokens`. Please "
                           "consult our documentation at https://docs.claude.com/en/docs/"
                           "build-with-claude/extended-thinking#max-tokens-and-context-window-size")
    if thinking.get("type") in ("enabled", "adaptive") and request.get("temperature", 1) != 1:
        return refusal("`temperature` may only be set to 1 when thinking is enabled. Please "
                       "consult our documentation at https://docs.claude.com/en/docs/"
                       "build-with-claude/extended-thinking#feature-compatibility")
    return None


def answer_text(behaviour, serial, vary=False, nonascii=False):
    if ANSWER[0] is not None and behaviour not in ("nocode", "length", "lengthprose", "huge"):
        return ANSWER[0]
    if behaviour == "nocode":
        return "I would use shared memory tiling here, but I will not write the code today."
    if behaviour == "length":
        whole = answer_text("ok", serial, vary, nonascii)
        return whole[: whole.index("extern")] + "extern \"C\" __global__ void scale_ro"
    if behaviour == "lengthprose":
        return answer_text("ok", serial, vary, nonascii) + "\nA faster version would tile the"
    prose = f"Answer {serial}. Here is a kernel that scales each row.\n\n"
    if behaviour == "huge":
        prose = ("padding " * 400000) + "\n\n" + prose
    candidate = CANDIDATE + (f"// answer {serial}\n" if vary else "")
    if nonascii:
        candidate = candidate.replace('"x.shape[1]"]', '"x.shape[1] \u00d7 1"]')
    return prose + "```cuda\n" + candidate + "```\nIt launches one block per row.\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, payload, extra_headers=()):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/control/requests":
            with LOCK:
                self.send_json(200, REQUESTS)
        else:
            self.send_json(404, {"error": {"message": "no such path"}})

    def error_body(self, anthropic, kind, message):
        if anthropic:
            return {"type": "error", "error": {"type": kind, "message": message}}
        return {"error": {"message": message, "type": kind, "code": kind}}

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/control/requests":
            with LOCK:
                self.send_json(200, REQUESTS)
            return
        if self.path == "/control/reset":
            with LOCK:
                COUNTS.clear()
                REQUESTS.clear()
            self.send_json(200, {"reset": True})
            return
        anthropic = self.path.endswith("/messages")
        if not anthropic and not self.path.endswith("/chat/completions"):
            self.send_json(404, {"error": {"message": "unknown path " + self.path}})
            return
        try:
            request = json.loads(raw)
        except ValueError:
            self.send_json(400, self.error_body(anthropic, "invalid_request_error", "bad JSON"))
            return
        model = str(request.get("model", ""))
        with LOCK:
            REQUESTS.append({"path": self.path, "model": model,
                             "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": request})
            COUNTS[model] = COUNTS.get(model, 0) + 1
            count = COUNTS[model]
            SERIAL[0] += 1
            serial = SERIAL[0]
        behaviour, limit = parse_model(model)
        if limit is not None and count > limit:
            behaviour = "ok"

        key = self.headers.get("x-api-key") if anthropic else \
            (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if (self.server.required_key and key != self.server.required_key) or behaviour == "401":
            self.send_json(401, self.error_body(
                anthropic, "authentication_error", f"Incorrect API key provided: {key}"))
            return
        if behaviour == "404":
            self.send_json(404, self.error_body(
                anthropic, "not_found_error", f"The model '{model}' does not exist"))
            return
        if behaviour == "ollama404":
            self.send_json(404, {"error": f"model \"{model}\" not found, try pulling it first"})
            return
        refusal = anthropic_refusal(model, request) if anthropic else \
            openai_refusal(model, request)
        if refusal is not None:
            self.send_json(400, refusal)
            return
        if behaviour == "429":
            self.send_json(429, self.error_body(anthropic, "rate_limit_error", "slow down"),
                           [("Retry-After", "1")])
            return
        if behaviour == "500":
            self.send_json(500, self.error_body(anthropic, "api_error", "internal error"))
            return
        if behaviour == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if behaviour == "slow":
            time.sleep(5)
        if self.server.latency > 0:
            time.sleep(self.server.latency)

        text = answer_text(behaviour, serial, self.server.vary, self.server.nonascii)
        prompt_tokens = sum(len(json.dumps(m)) for m in request.get("messages", [])) // 4 + 1
        output_tokens = len(text) // 4 + 1
        cut = behaviour in ("length", "lengthprose")
        thinks = anthropic and (request.get("thinking") or {}).get("type") in ("enabled",
                                                                                "adaptive")
        if request.get("stream"):
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
            self.stream(anthropic, behaviour, model, text, prompt_tokens, output_tokens,
                        include_usage and behaviour not in ("nousage", "local"), thinks)
            return
        if anthropic:
            content = [{"type": "text", "text": text}]
            if thinks:
                content.insert(0, {"type": "thinking", "thinking": REASONING_TEXT,
                                   "signature": "c2lnbmF0dXJl"})
            payload = {"id": f"msg_{serial}", "type": "message", "role": "assistant",
                       "model": model, "content": content,
                       "stop_reason": "max_tokens" if cut else "end_turn",
                       "usage": {"input_tokens": prompt_tokens, "output_tokens": output_tokens}}
        else:
            message = {"role": "assistant", "content": text}
            if behaviour == "local":
                message.update({"tool_calls": [], "reasoning_content": None})
            if behaviour == "reasoning":
                message["reasoning_content"] = REASONING_TEXT
            payload = {"id": f"chatcmpl-{serial}", "object": "chat.completion", "model": model,
                       "choices": [{"index": 0, "finish_reason": "length" if cut else "stop",
                                    "message": message}],
                       "usage": {"prompt_tokens": prompt_tokens,
                                 "completion_tokens": output_tokens}}
            if behaviour in ("nousage", "local"):
                del payload["usage"]
        body = json.dumps(payload).encode()
        if behaviour == "malformed":
            body = b'{"choices": [{"message": {"content": "unterminated'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour in ("truncate", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if behaviour == "stall":
                time.sleep(30)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def stream(self, anthropic, behaviour, model, text, prompt_tokens, output_tokens,
               include_usage, thinks=False):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        pieces = [text[i:i + 200] for i in range(0, len(text), 200)] or [""]
        events = []
        if anthropic:
            def event(name, payload):
                return f"event: {name}\ndata: {json.dumps(payload)}\n\n"
            events.append(event("message_start", {"type": "message_start", "message": {
                "id": "msg", "type": "message", "role": "assistant", "model": model,
                "content": [], "usage": {"input_tokens": prompt_tokens, "output_tokens": 1}}}))
            block = 0
            if thinks:
                events.append(event("content_block_start", {
                    "type": "content_block_start", "index": 0,
                    "content_block": {"type": "thinking", "thinking": ""}}))
                events.append(event("content_block_delta", {
                    "type": "content_block_delta", "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": REASONING_TEXT}}))
                events.append(event("content_block_delta", {
                    "type": "content_block_delta", "index": 0,
                    "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}}))
                events.append(event("content_block_stop", {"type": "content_block_stop",
                                                           "index": 0}))
                block = 1
            events.append(event("content_block_start", {"type": "content_block_start",
                                                        "index": block,
                                                        "content_block": {"type": "text",
                                                                          "text": ""}}))
            events.append("event: ping\ndata: {\"type\": \"ping\"}\n\n")
            for piece in pieces:
                events.append(event("content_block_delta", {
                    "type": "content_block_delta", "index": block,
                    "delta": {"type": "text_delta", "text": piece}}))
            events.append(event("content_block_stop", {"type": "content_block_stop",
                                                       "index": block}))
            stop = "max_tokens" if behaviour in ("length", "lengthprose") else "end_turn"
            events.append(event("message_delta", {"type": "message_delta",
                                                  "delta": {"stop_reason": stop},
                                                  "usage": {"output_tokens": output_tokens}}))
            events.append(event("message_stop", {"type": "message_stop"}))
        else:
            def chunk(delta, finish=None):
                return "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk",
                                              "choices": [{"index": 0, "delta": delta,
                                                           "finish_reason": finish}]}) + "\n\n"
            # llama.cpp's and vLLM's first delta carries the role and a null content.
            first = None if behaviour == "local" else ""
            events.append(chunk({"role": "assistant", "content": first}))
            events.append(": keep-alive comment\n\n")
            if behaviour == "reasoning":
                for at in range(0, len(REASONING_TEXT), 40):
                    events.append(chunk({"reasoning_content": REASONING_TEXT[at:at + 40]}))
            for piece in pieces:
                events.append(chunk({"content": piece}))
            cut = behaviour in ("length", "lengthprose")
            events.append(chunk({}, "length" if cut else "stop"))
            if include_usage:
                events.append("data: " + json.dumps({"id": "c", "choices": [], "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": output_tokens}}) + "\n\n")
            events.append("data: [DONE]\n\n")
        if behaviour == "malformed":
            events.insert(2, "data: {\"choices\": [{\"delta\": {\"content\": \"oops\n\n")
        if behaviour == "truncate":
            events = events[: len(events) // 2]
        try:
            for number, piece in enumerate(events):
                if behaviour == "stall" and number == len(events) // 2:
                    time.sleep(30)
                self.wfile.write(piece.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.connection.shutdown(2)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    latency = 0.0
    vary = False
    nonascii = False

    def handle_error(self, request, client_address):
        pass  # dropped connections are on purpose here


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", default="")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds every answer waits before it is sent (benchmarks)")
    parser.add_argument("--vary", action="store_true",
                        help="a different candidate source in every answer (no compile cache hits)")
    parser.add_argument("--nonascii", action="store_true",
                        help="a non-ASCII character in every answer's launch plan")
    parser.add_argument("--candidate", default="",
                        help="a .cu file whose text every answer carries as its candidate")
    parser.add_argument("--answer", default="",
                        help="a file whose text is the whole of every ok answer")
    args = parser.parse_args()
    if args.answer:
        with open(args.answer, encoding="utf-8") as answer:
            ANSWER[0] = answer.read()
    if args.candidate:
        global CANDIDATE
        with open(args.candidate, encoding="utf-8") as candidate:
            CANDIDATE = candidate.read()
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.required_key = args.key
    server.latency = args.latency
    server.vary = args.vary
    server.nonascii = args.nonascii
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
