"""Command-line interface (installed as lueur_net.cli): parses, orchestrates and prints."""
