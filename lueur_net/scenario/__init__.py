"""lueur_net.scenario: see DESIGN.md."""
