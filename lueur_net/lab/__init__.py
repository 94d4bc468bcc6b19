"""lueur_net.lab: see DESIGN.md."""
