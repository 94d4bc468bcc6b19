"""lueur_net.driver: see DESIGN.md."""
