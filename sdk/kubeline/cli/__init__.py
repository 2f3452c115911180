"""The ``kubeline`` command line (click). Commands import heavy modules only when they run."""
