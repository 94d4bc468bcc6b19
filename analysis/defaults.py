"""Defaults of the Ollama analysis, apart from the code that uses them: the CLI's options and help import this
module without loading pandas, httpx or the ollama client (so `lueur-net --help` stays fast)."""

DEFAULT_HOST = "http://127.0.0.1:11434"
# None: $LUEUR_NET_MODEL when set, else the first model the server lists that fits (a completion model whose
# context length, from /api/show, is at least MIN_NUM_CTX).
DEFAULT_MODEL: str | None = None
MODEL_ENV = "LUEUR_NET_MODEL"
DEFAULT_TIMEOUT_S = 300.0  # per step: a local model on a CPU can take minutes per section
DEFAULT_TOTAL_TIMEOUT_S = 1800.0  # the whole chain (six steps and their retries)
DEFAULT_NUM_CTX = 16_384  # tokens asked for, capped at the model's context length (/api/show)
MIN_NUM_CTX = 2_048  # Ollama's smallest default; below it the facts that are never dropped and an answer rarely fit
RETRY_REPEAT_PENALTY = 1.3  # the stricter retry also discourages the loops small models fall into (Ollama: 1.1)
DEFAULT_NUM_PREDICT = 1_024  # tokens of room kept for each answer (and the most it may write)
ROLES = ("developer", "sre")
