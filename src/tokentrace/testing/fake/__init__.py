"""A fake OpenAI + Anthropic HTTP API that the real SDK clients use unchanged.

Example::

    from tokentrace.testing.fake import FakeProvider, FakeReply, FakeError

    fake = FakeProvider()
    fake.queue(FakeReply(text="Hi there", input_tokens=10), FakeError(status=429))
    client = fake.openai_client()
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])   # "Hi there"
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])   # openai.RateLimitError
    fake.requests[-1].json["model"]                                       # "gpt-4o-mini"

    with fake.serve() as server:                       # the same over loopback HTTP
        server.anthropic_client().messages.create(...)

Endpoints (POST, with or without ``/v1``): ``/chat/completions``, ``/responses``,
``/embeddings`` (OpenAI) and ``/messages``, ``/messages/count_tokens`` (Anthropic),
plain or streamed (``"stream": true``), in each API's real JSON and SSE shapes.

Token rule (so tests can compute expected usage):

* a *word* is a whitespace-separated piece of text (``len(text.split())``);
* a message's text is its ``content`` string, or the ``text`` of its content
  parts (Anthropic ``tool_result`` parts included; a Responses item without
  ``content`` counts its ``output`` string);
* input tokens = Σ over messages of (3 + words), plus (3 + words) for an
  Anthropic ``system`` prompt or Responses ``instructions``; a Responses string
  ``input`` is one message; embeddings: words per string, length per token
  array, no overhead;
* output tokens (per choice) = max(1, words of the text or refusal + words of each
  tool call's name and JSON arguments) + ``reasoning_tokens``;
* ``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens`` keep the first
  N words and finish with ``length`` / ``max_tokens`` / status ``incomplete``;
  a stop sequence in the text cuts it there (Anthropic ``stop_sequence``);
* ``FakeReply.input_tokens`` / ``output_tokens`` are reported verbatim in the
  provider's own fields: OpenAI ``prompt_tokens`` includes ``cached_tokens``,
  Anthropic ``input_tokens`` excludes cache reads and writes (as the real APIs).

Default reply: ``"This is a fake reply to: <first 40 chars of the last user
message>"``, streamed in ``FakeProvider(chunks=8)`` deltas.
"""

from ._model import FakeDisconnect, FakeError, FakeReply, FakeRequest, FakeTimeout, FakeToolCall
from ._provider import FakeProvider
from ._server import FakeServer

__all__ = [
    "FakeDisconnect",
    "FakeError",
    "FakeProvider",
    "FakeReply",
    "FakeRequest",
    "FakeServer",
    "FakeTimeout",
    "FakeToolCall",
]
