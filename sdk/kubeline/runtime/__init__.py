"""The step runtime: ``python -m kubeline.runtime`` runs one step attempt inside its Pod.

See docs/contracts.md ("The step Pod") for the invocation, the outputs
manifest, the termination message and the exit codes.
"""

# clock first: it records when the runtime was entered, before the executor's imports.
from kubeline.runtime.clock import RUNTIME_ENTERED  # noqa: F401
from kubeline.runtime.executor import EXIT_OK, EXIT_SETUP, EXIT_STEP, main, run_invocation

__all__ = ["EXIT_OK", "EXIT_SETUP", "EXIT_STEP", "main", "run_invocation"]
