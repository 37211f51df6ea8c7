"""``python -m advcompare`` runs the command-line interface."""

from advcompare.cli import main

raise SystemExit(main())
