"""``python -m kubeline_operator`` runs the operator."""

from kubeline_operator.main import main

main()
