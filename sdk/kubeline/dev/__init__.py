"""``kubeline dev``: the local cluster (processes, network, images, certificates)."""
