"""lueur_net.plan: see DESIGN.md."""
