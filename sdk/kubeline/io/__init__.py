"""File I/O over the artifact store and local paths (``kubeline.io.fileio``)."""
