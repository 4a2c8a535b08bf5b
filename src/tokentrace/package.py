"""The SDK versions each instrumentor supports; matches the ``openai``/``anthropic`` extras."""

OPENAI_INSTRUMENTS = ("openai >= 1.40",)
ANTHROPIC_INSTRUMENTS = ("anthropic >= 0.30",)
