"""The step runtime: ``python -m kubeline.runtime`` runs one step attempt inside its Pod.

See docs/contracts.md ("The step Pod") for the invocation, the outputs
manifest, the termination message and the exit codes.
"""

from kubeline.runtime.executor import EXIT_OK, EXIT_SETUP, EXIT_STEP, main, run_invocation

__all__ = ["EXIT_OK", "EXIT_SETUP", "EXIT_STEP", "main", "run_invocation"]
