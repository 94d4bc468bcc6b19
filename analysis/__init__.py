"""Statistics, verdicts, report renderers and analysis (installed as lueur_net.analysis)."""
