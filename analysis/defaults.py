"""Defaults of the Ollama analysis, apart from the code that uses them: the CLI's options and help import this
module without loading pandas, httpx or the ollama client (so `lueur-net --help` stays fast)."""

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_MODEL = "llama3.1"
DEFAULT_TIMEOUT_S = 300.0  # per request: a local model on a CPU can take minutes per section
DEFAULT_NUM_CTX = 16_384  # tokens: the longest step (recommendations with source) needs ~10k
ROLES = ("developer", "sre")
