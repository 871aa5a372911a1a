"""``python -m tamga`` runs the ``tamga`` command."""

import sys

from tamga.cli import main

sys.exit(main())
