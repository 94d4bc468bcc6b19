"""lueur_net.dataplane: see DESIGN.md."""
