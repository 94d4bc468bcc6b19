"""lueur_net.records: see DESIGN.md."""
